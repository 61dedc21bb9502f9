// max: the plain max rule. The clipping threshold is the largest calibration magnitude, turned
// into a power-of-two format by ALGORITHMS.md 11.5 (coarser: nothing clips; finer: clips up to
// half the range), the two chosen by squared error on the data.
#include "quant/methods/method.h"

namespace gammaq::quant {

FmProposal propose_max(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  const std::vector<int> fracs =
      threshold_fracs(s.max_abs(), q.bits, q.is_signed, p.result, q.options.clip_below_t);
  return choose_by_error(s, std::move(p), fracs, q.options.rounding);
}

}  // namespace gammaq::quant
