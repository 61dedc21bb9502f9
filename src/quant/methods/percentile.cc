// percentile: ALGORITHMS.md 11.3. The clipping threshold T is the p-quantile of |x| over the
// calibration set (default p = 99.99), zeros counted unless --percentile-nonzero; then 11.5.
//
// Reading (PROPOSED in 11.3, and ours differs in one respect): the quantile comes from the
// exact zero count and the statistics' deterministic bottom-k sample of the non-zero values
// (linear interpolation between order statistics), not from a 2048-bin histogram: exact when
// the sample holds every non-zero value, otherwise a uniform-sample estimate whose error does
// not depend on the tensor's range, as a histogram's bin width would.
#include <algorithm>
#include <cmath>

#include "gammaq/error.h"
#include "quant/methods/method.h"

namespace gammaq::quant {

double magnitude_quantile(const stats::TensorStats& s, double wanted, bool count_zeros,
                          std::string* note) {
  std::vector<float> mags = s.sample();
  if (mags.empty()) mags.push_back(static_cast<float>(s.max_abs()));  // statistics kept no sample
  for (float& v : mags) v = std::fabs(v);
  std::sort(mags.begin(), mags.end());
  const auto nonzero = static_cast<double>(s.positive().count + s.negative().count);
  // The quantile's position among the non-zero values, in [0, 1].
  double f = wanted;
  if (count_zeros) {
    const double total = nonzero + static_cast<double>(s.zeros());
    const double above_zeros = wanted * total - static_cast<double>(s.zeros());
    if (above_zeros <= 0.0) {
      if (note)
        *note = str_cat("the ", 100 * wanted, "th percentile is 0 (", s.zeros(), " of ",
                        s.zeros() + s.positive().count + s.negative().count,
                        " values are zero): the percentile of the non-zero values instead");
    } else {
      f = above_zeros / nonzero;
    }
  }
  const double pos = std::clamp(f, 0.0, 1.0) * static_cast<double>(mags.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, mags.size() - 1);
  return mags[lo] + (pos - static_cast<double>(lo)) * (mags[hi] - mags[lo]);
}

FmProposal propose_percentile(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  const FmOptions& o = q.options;
  if (!(o.percentile > 0.0 && o.percentile <= 100.0))
    throw Error(ErrorKind::InvalidOption,
                str_cat("--percentile ", o.percentile, ": must be in (0, 100]"));
  const double t =
      magnitude_quantile(s, o.percentile / 100.0, !o.percentile_nonzero, &p.result.note);
  p.result.fit["percentile"] = o.percentile;
  const std::vector<int> fracs = threshold_fracs(t, q.bits, q.is_signed, p.result, o.clip_below_t);
  return choose_by_error(s, std::move(p), fracs, o.rounding);
}

}  // namespace gammaq::quant
