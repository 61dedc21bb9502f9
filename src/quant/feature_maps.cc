#include "quant/feature_maps.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fit/ggd.h"
#include "gammaq/error.h"
#include "quant/methods/method.h"
#include "quant/weights.h"

namespace gammaq::quant {
namespace {

void record_fit(ActivationFormat& r, const fit::GgdParams& p, const std::string& prefix) {
  r.fit[prefix + "alpha"] = p.alpha;
  r.fit[prefix + "beta"] = p.beta;
  r.fit[prefix + "lambda"] = p.lambda;
  r.fit[prefix + "mu"] = p.mu;
}

// The frac at which the largest magnitude fits with at most one LSB of saturation.
int top_frac(double max_abs, int bits, bool is_signed) {
  return bits - (is_signed ? 1 : 0) - ceil_log2(max_abs);
}

std::optional<fit::GgdParams> fit_side(const stats::SideMoments& m,
                                       const std::vector<float>& sample, bool negative_side,
                                       const FmOptions& o) {
  if (o.alpha_free) {
    std::vector<double> mags;
    for (float v : sample)
      if ((v < 0) == negative_side && v != 0.0f) mags.push_back(std::fabs(static_cast<double>(v)));
    if (mags.size() >= 2) return fit::fit_alpha_free(mags);
    return std::nullopt;
  }
  return fit::fit_alpha1(m.mean(), m.variance());
}

// Squared error of each format over `values` (zeros contribute nothing).
std::vector<double> errors_on(const std::vector<float>& values, const std::vector<int>& fracs,
                              int bits, bool is_signed, Rounding r) {
  std::vector<double> out;
  for (int f : fracs) {
    const Format fmt = make_format(bits, f, is_signed);
    double e = 0.0;
    for (float v : values) {
      const double d = static_cast<double>(v) - fake_quant(static_cast<double>(v), fmt, r);
      e += d * d;
    }
    out.push_back(e);
  }
  return out;
}

// Index of the smallest error; ties (and NaN) keep the earlier (smaller) frac.
size_t argmin(const std::vector<double>& d) {
  size_t best = 0;
  for (size_t i = 1; i < d.size(); ++i)
    if (d[i] < d[best] || (std::isnan(d[best]) && !std::isnan(d[i]))) best = i;
  return best;
}

double sqnr_from(double energy, double noise) { return sqnr_db(energy, noise); }

void decide_now(FmProposal& p, const std::vector<int>& fracs, const std::vector<double>& d,
                double energy, double scale_to_total) {
  const size_t i = argmin(d);
  p.result.format.frac = fracs[i];
  p.result.format = make_format(p.result.format.bits, fracs[i], p.result.format.is_signed);
  p.result.candidates.clear();
  for (size_t k = 0; k < fracs.size(); ++k) p.result.candidates.emplace_back(fracs[k], d[k]);
  p.result.sqnr_db = sqnr_from(energy, d[i] * scale_to_total);
  p.needs_empirical = false;
}

// The largest frac whose format holds every calibration magnitude without saturating: codes
// 0..M-1 on the positive side, down to -M on the negative side (signed).
int no_saturation_frac(const stats::TensorStats& s, int64_t codes_m) {
  int f = std::numeric_limits<int>::max();
  auto fit = [&](double max, double top_code) {
    if (max > 0) f = std::min(f, static_cast<int>(std::floor(std::log2(top_code / max))));
  };
  fit(s.positive().max, static_cast<double>(codes_m - 1));
  fit(s.negative().max, static_cast<double>(codes_m));
  return f;
}

// Model-based choices never take more range than the calibration data need: a format with
// frac < no_saturation_frac has a coarser power-of-two grid that contains no point the finer
// grid lacks and clips nothing the finer one keeps, so it is worse on every calibration value.
// (A fitted density's tail can still ask for it; bounded data such as normalised images do.)
std::vector<int> lift_to(std::vector<int> fracs, int floor_frac) {
  for (int& f : fracs) f = std::max(f, floor_frac);
  fracs.erase(std::unique(fracs.begin(), fracs.end()), fracs.end());
  return fracs;
}

std::vector<int> range(int lo, int hi) {
  std::vector<int> v;
  for (int f = lo; f <= hi; ++f) v.push_back(f);
  return v;
}

}  // namespace

FmMode parse_fm_mode(std::string_view name) {
  if (name == "default") return FmMode::Default;
  if (name == "fast") return FmMode::Fast;
  if (name == "fast-paper") return FmMode::FastPaper;
  if (name == "exact") return FmMode::Exact;
  throw Error(ErrorKind::InvalidOption,
              str_cat("--mode '", name, "': expected default, fast, fast-paper or exact"));
}

std::string_view fm_mode_name(FmMode mode) {
  switch (mode) {
    case FmMode::Default: return "default";
    case FmMode::Fast: return "fast";
    case FmMode::FastPaper: return "fast-paper";
    case FmMode::Exact: return "exact";
  }
  return "default";
}

FmProposal propose_fm_format(const stats::TensorStats& s, int bits, bool is_signed,
                             const FmOptions& o) {
  const FmMethod* method = find_fm_method(o.method);
  if (!method)
    throw Error(ErrorKind::InvalidOption,
                str_cat("--method '", o.method, "': expected one of ", fm_method_names()));
  FmProposal p;
  ActivationFormat& r = p.result;
  r.method = o.method;
  r.format = make_format(bits, bits - 1, is_signed);
  p.clip_below_t = o.clip_below_t;
  if (s.positive().count + s.negative().count == 0) {
    r.degenerate = true;
    r.note = "all calibration values are zero: frac = bits - 1 (ALGORITHMS.md 1.5)";
    return p;
  }
  return method->propose(s, FmRequest{bits, is_signed, o}, std::move(p));
}

FmProposal choose_by_error(const stats::TensorStats& s, FmProposal p, std::vector<int> fracs,
                           Rounding rounding) {
  const Format& f = p.result.format;
  std::sort(fracs.begin(), fracs.end());
  fracs.erase(std::unique(fracs.begin(), fracs.end()), fracs.end());
  for (int& fr : fracs) fr = make_format(f.bits, fr, f.is_signed).frac;  // clamped
  fracs.erase(std::unique(fracs.begin(), fracs.end()), fracs.end());
  const std::vector<float> sample = s.sample();
  if (static_cast<int64_t>(sample.size()) == s.positive().count + s.negative().count) {
    decide_now(p, fracs, errors_on(sample, fracs, f.bits, f.is_signed, rounding), s.energy(), 1.0);
  } else {
    p.candidates = fracs;
    p.needs_empirical = true;
  }
  return p;
}

void decide_among(FmProposal& p, const std::vector<int>& fracs, const std::vector<double>& errors,
                  double energy) {
  decide_now(p, fracs, errors, energy, 1.0);
}

std::vector<int> threshold_fracs(double t, int bits, bool is_signed, ActivationFormat& r,
                                 bool clip_below_t) {
  const double q_max = is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
  const double step = t / q_max;
  r.fit["threshold"] = t;
  r.fit["float_scale"] = step;
  const int coarse = -ceil_log2(step);
  const int fine = -static_cast<int>(std::floor(std::log2(step)));
  return coarse == fine || !clip_below_t ? std::vector<int>{coarse}
                                         : std::vector<int>{coarse, fine};
}

int max_rule_frac(double max_abs, int bits, bool is_signed) {
  return top_frac(max_abs, bits, is_signed);
}

FmProposal propose_ristretto(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  ActivationFormat& r = p.result;
  r.format = ristretto_activation_format(s.max_abs(), q.bits, q.is_signed);
  const std::vector<float> sample = s.sample();
  if (static_cast<int64_t>(sample.size()) == s.positive().count + s.negative().count) {
    r.sqnr_db = sqnr_from(
        s.energy(), errors_on(sample, {r.format.frac}, q.bits, q.is_signed, q.options.rounding)[0]);
  } else {  // the one candidate's error (for its SQNR) comes from the second pass
    p.candidates = {r.format.frac};
    p.needs_empirical = true;
  }
  return p;
}

FmProposal propose_ggd(const stats::TensorStats& s, const FmRequest& q, FmProposal p) {
  const int bits = q.bits;
  const bool is_signed = q.is_signed;
  const FmOptions& o = q.options;
  ActivationFormat& r = p.result;
  const double energy = s.energy();
  const int64_t nonzero = s.positive().count + s.negative().count;
  const int ftop = top_frac(s.max_abs(), bits, is_signed);
  const std::vector<float> sample = s.sample();
  // Sample-based search over [ftop, ftop + bits] (4.8): exact when the sample holds every
  // non-zero value, otherwise measured on the whole calibration set in the second pass.
  auto search = [&](const std::string& why) {
    r.note = why;
    return choose_by_error(s, std::move(p), range(ftop, ftop + bits), o.rounding);
  };

  const stats::SideMoments& pos = s.positive();
  const stats::SideMoments& neg = s.negative();
  const bool two_sided = pos.count > 0 && neg.count > 0;
  GAMMAQ_CHECK(!(neg.count > 0 && !is_signed),
               "negative values in a tensor given an unsigned format");
  if (nonzero < o.min_samples)
    return search(str_cat("only ", nonzero, " non-zero samples (< ", o.min_samples,
                          "): empirical search, no fit (ALGORITHMS.md 4.8)"));

  const int64_t codes_m = is_signed ? (int64_t{1} << (bits - 1)) : (int64_t{1} << bits);
  const double levels_n = 2.0 * static_cast<double>(codes_m);
  // The paper's fast mode is kept as published, for reproduction.
  const int floor_frac = o.mode == FmMode::FastPaper ? std::numeric_limits<int>::min()
                                                     : no_saturation_frac(s, codes_m);

  if (!two_sided) {
    const bool negative_only = neg.count > 0;
    const stats::SideMoments& side = negative_only ? neg : pos;
    const auto fitted = fit_side(side, sample, negative_only, o);
    const double up = o.mode == FmMode::FastPaper ? fit::kNoUpper : side.max;
    if (!fitted)
      return search("one distinct value or degenerate fit: empirical search (ALGORITHMS.md 4.8)");
    record_fit(r, *fitted, "");
    r.fit["kappa"] = fitted->beta + 1.0;
    const fit::SupportEstimate est = fit::hui_neuhoff_support(*fitted, levels_n);
    std::vector<int> fracs;
    if (est.valid) {
      fracs = fit::closed_form_fracs(est.step);
      r.fit["support"] = est.support;
      r.fit["step"] = est.step;
    }
    const double nz = static_cast<double>(side.count);
    if (!est.valid || fracs.empty()) {
      r.note = "closed form (5)-(6) outside its validity range: exact-model search (4.6)";
      const int best = fit::exact_model_best_frac(*fitted, codes_m, ftop, up);
      fracs = lift_to({best - 1, best, best + 1}, floor_frac);
      if (o.mode != FmMode::Default) {
        std::vector<double> d;
        for (int f : fracs) d.push_back(fit::fixed_point_mse_one_side(*fitted, f, codes_m, up));
        decide_now(p, fracs, d, energy, nz);
        return p;
      }
    }
    fracs = lift_to(fracs, floor_frac);
    switch (o.mode) {
      case FmMode::Default:
        p.candidates = fracs;
        p.needs_empirical = true;
        return p;
      case FmMode::FastPaper: {
        std::vector<double> d;
        for (int f : fracs)
          d.push_back(
              fit::hui_neuhoff_distortion(*fitted, levels_n, levels_n * std::ldexp(1.0, -f) / 2));
        decide_now(p, fracs, d, energy, nz);
        return p;
      }
      case FmMode::Fast: {
        std::vector<double> d;
        for (int f : fracs) d.push_back(fit::fixed_point_mse_one_side(*fitted, f, codes_m, up));
        decide_now(p, fracs, d, energy, nz);
        return p;
      }
      case FmMode::Exact: {
        const int best = fit::exact_model_best_frac(*fitted, codes_m, fracs.front(), up);
        const std::vector<int> around = lift_to(range(best - 1, best + 1), floor_frac);
        std::vector<double> d;
        for (int f : around) d.push_back(fit::fixed_point_mse_one_side(*fitted, f, codes_m, up));
        decide_now(p, around, d, energy, nz);
        return p;
      }
    }
  }

  // Two-sided data: Algorithm 3 (split by sign, fitted on magnitudes, weighted by rho).
  const double rho = static_cast<double>(neg.count) / static_cast<double>(s.total());
  const auto fneg = neg.count >= o.min_samples ? fit_side(neg, sample, true, o) : std::nullopt;
  const auto fpos = pos.count >= o.min_samples ? fit_side(pos, sample, false, o) : std::nullopt;
  if (!fneg || !fpos) return search("a sign group has too few samples or no fit: empirical search");
  // The exact model ignores the fitted tail beyond each side's calibration maximum.
  const bool truncate = o.mode != FmMode::FastPaper;
  const double up_neg = truncate ? neg.max : fit::kNoUpper,
               up_pos = truncate ? pos.max : fit::kNoUpper;
  record_fit(r, *fpos, "");
  record_fit(r, *fneg, "neg_");
  r.fit["rho"] = rho;
  std::vector<int> c;
  for (const auto* f : {&*fneg, &*fpos}) {
    const fit::SupportEstimate est = fit::hui_neuhoff_support(*f, levels_n);
    if (!est.valid) continue;
    for (int fr : fit::closed_form_fracs(est.step)) c.push_back(fr);
  }
  std::vector<int> fracs;
  if (c.empty()) {
    r.note = "closed form invalid on both sides: exact-model search (4.6)";
    const int best =
        fit::exact_model_best_frac_two_sided(*fneg, *fpos, rho, bits, ftop, up_neg, up_pos);
    fracs = range(best - 1, best + 1);
  } else {
    fracs = range(*std::min_element(c.begin(), c.end()), *std::max_element(c.begin(), c.end()));
  }
  fracs = lift_to(fracs, floor_frac);
  const double nz_neg = static_cast<double>(neg.count), nz_pos = static_cast<double>(pos.count);
  auto model_error = [&](int f, bool paper) {
    if (paper) {
      const double L = levels_n * std::ldexp(1.0, -f) / 2;
      return nz_neg * fit::hui_neuhoff_distortion(*fneg, levels_n, L) +
             nz_pos * fit::hui_neuhoff_distortion(*fpos, levels_n, L);
    }
    // Negative side reaches -2^(bits-1): codes 0..2^(bits-1) in magnitude.
    return nz_neg * fit::fixed_point_mse_one_side(*fneg, f, codes_m + 1, up_neg) +
           nz_pos * fit::fixed_point_mse_one_side(*fpos, f, codes_m, up_pos);
  };
  switch (o.mode) {
    case FmMode::Default:
      p.candidates = fracs;
      p.needs_empirical = true;
      return p;
    case FmMode::FastPaper:
    case FmMode::Fast: {
      std::vector<double> d;
      for (int f : fracs) d.push_back(model_error(f, o.mode == FmMode::FastPaper));
      decide_now(p, fracs, d, energy, 1.0);
      return p;
    }
    case FmMode::Exact: {
      const int best = fit::exact_model_best_frac_two_sided(*fneg, *fpos, rho, bits, fracs.front(),
                                                            up_neg, up_pos);
      const std::vector<int> around = lift_to(range(best - 1, best + 1), floor_frac);
      std::vector<double> d;
      for (int f : around) d.push_back(model_error(f, false));
      decide_now(p, around, d, energy, 1.0);
      return p;
    }
  }
  return p;
}

EmpiricalErrors::EmpiricalErrors(std::vector<Format> candidates, Rounding rounding)
    : fmt_(std::move(candidates)), err_(fmt_.size(), 0.0), rounding_(rounding) {}

double code_entropy_bits(const stats::TensorStats& s, std::span<const float> nonzero,
                         const Format& f, Rounding rounding) {
  const double total = static_cast<double>(s.total() - s.nonfinite());
  if (!(total > 0)) return 0.0;
  const double p0 = static_cast<double>(s.zeros()) / total;
  std::vector<int64_t> codes;
  codes.reserve(nonzero.size());
  for (float v : nonzero) codes.push_back(quantize_code(v, f, rounding));
  std::sort(codes.begin(), codes.end());
  const int64_t zero_code = quantize_code(0.0, f, rounding);
  double entropy = 0, zero_mass = p0;
  auto add = [&](double m) {
    if (m > 0) entropy -= m * std::log2(m);
  };
  const double each = nonzero.empty() ? 0.0 : (1.0 - p0) / static_cast<double>(nonzero.size());
  for (size_t i = 0; i < codes.size();) {
    size_t j = i;
    while (j < codes.size() && codes[j] == codes[i]) ++j;
    const double m = each * static_cast<double>(j - i);
    if (codes[i] == zero_code)
      zero_mass += m;
    else
      add(m);
    i = j;
  }
  add(zero_mass);
  return entropy;
}

void count_magnitudes(std::vector<uint64_t>& hist, double max, std::span<const float> values,
                      bool skip_zeros) noexcept {
  const double scale = static_cast<double>(hist.size()) / max;
  const size_t last = hist.size() - 1;
  for (float v : values) {
    if (!std::isfinite(v) || (skip_zeros && v == 0.0f)) continue;
    const double b = std::fabs(static_cast<double>(v)) * scale;
    ++hist[b >= static_cast<double>(last) ? last : static_cast<size_t>(b)];
  }
}

EmpiricalErrors EmpiricalErrors::empty_like() const {
  EmpiricalErrors e(fmt_, rounding_);
  if (!hist_.empty())
    e.enable_histogram(static_cast<int>(hist_.size()), hist_max_, hist_skip_zeros_);
  if (make_propagate_) e.enable_propagation(make_propagate_);
  return e;
}

void EmpiricalErrors::enable_propagation(std::function<Propagate()> make) {
  make_propagate_ = std::move(make);
  propagate_ = nullptr;
  prop_err_.assign(fmt_.size(), 0.0);
}

EmpiricalErrors EmpiricalErrors::select(const std::vector<Format>& formats) const {
  EmpiricalErrors e(formats, rounding_);
  for (size_t k = 0; k < formats.size(); ++k) {
    const auto it = std::find(fmt_.begin(), fmt_.end(), formats[k]);
    GAMMAQ_CHECK(it != fmt_.end(), "EmpiricalErrors::select: a format that was not measured");
    e.err_[k] = err_[static_cast<size_t>(it - fmt_.begin())];
  }
  e.hist_ = hist_;
  e.hist_max_ = hist_max_;
  e.hist_skip_zeros_ = hist_skip_zeros_;
  if (!prop_err_.empty()) {
    e.prop_err_.resize(formats.size());
    for (size_t k = 0; k < formats.size(); ++k)
      e.prop_err_[k] = prop_err_[static_cast<size_t>(
          std::find(fmt_.begin(), fmt_.end(), formats[k]) - fmt_.begin())];
  }
  return e;
}

void EmpiricalErrors::enable_histogram(int bins, double max, bool skip_zeros) {
  GAMMAQ_CHECK(bins > 0 && max > 0, "histogram of ", bins, " bins on [0, ", max, "]");
  hist_.assign(static_cast<size_t>(bins), 0);
  hist_max_ = max;
  hist_skip_zeros_ = skip_zeros;
}

void EmpiricalErrors::add(std::span<const float> values) {
  if (!hist_.empty()) count_magnitudes(hist_, hist_max_, values, hist_skip_zeros_);
  std::vector<float> q(values.size());
  for (size_t k = 0; k < fmt_.size(); ++k) {
    std::copy(values.begin(), values.end(), q.begin());
    fake_quant(std::span<float>(q), fmt_[k], rounding_);
    double e = 0.0;
    for (size_t i = 0; i < q.size(); ++i) {
      if (!std::isfinite(values[i])) continue;
      const double d = static_cast<double>(values[i]) - static_cast<double>(q[i]);
      e += d * d;
    }
    err_[k] += e;
    if (!make_propagate_) continue;
    if (!propagate_) propagate_ = make_propagate_();
    for (size_t i = 0; i < q.size(); ++i)  // the rounding error, in place
      q[i] = std::isfinite(values[i]) ? q[i] - values[i] : 0.0f;
    prop_err_[k] += propagate_(q);
  }
}

void EmpiricalErrors::merge(const EmpiricalErrors& other) {
  GAMMAQ_CHECK(other.fmt_.size() == fmt_.size(), "EmpiricalErrors::merge: different candidates");
  for (size_t k = 0; k < err_.size(); ++k) err_[k] += other.err_[k];
  GAMMAQ_CHECK(other.hist_.size() == hist_.size(), "EmpiricalErrors::merge: different histograms");
  for (size_t k = 0; k < hist_.size(); ++k) hist_[k] += other.hist_[k];
  GAMMAQ_CHECK(other.prop_err_.size() == prop_err_.size(),
               "EmpiricalErrors::merge: propagation on one side only");
  for (size_t k = 0; k < prop_err_.size(); ++k) prop_err_[k] += other.prop_err_[k];
}

void decide_fm_format(FmProposal& p, const EmpiricalErrors& errors, double energy) {
  if (const FmMethod* m = find_fm_method(p.result.method); m && m->decide) {
    m->decide(p, errors, energy);
    return;
  }
  std::vector<int> fracs;
  for (const Format& f : errors.formats()) fracs.push_back(f.frac);
  decide_now(p, fracs, errors.sq_errors(), energy, 1.0);
}

}  // namespace gammaq::quant
