// mse: ALGORITHMS.md 11.4. Every frac of the window [FL_max, FL_max + bits] (FL_max: the max
// rule's frac) by its squared error on the calibration data -- exact, measured in the second
// pass over every image (or at once when the sample holds every non-zero value).
#include "quant/methods/method.h"

namespace gammaq::quant {

FmProposal propose_mse(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  const int top = max_rule_frac(s.max_abs(), q.bits, q.is_signed);
  std::vector<int> fracs;
  for (int f = top; f <= top + q.bits; ++f) fracs.push_back(f);
  return choose_by_error(s, std::move(p), fracs, q.options.rounding);
}

}  // namespace gammaq::quant
