#include <array>

#include "quant/methods/method.h"

namespace gammaq::quant {
namespace {

// An explicit table, not self-registration (static libraries drop unreferenced initializers).
constexpr std::array kMethods = {
    FmMethod{"ggd", "generalized gamma fit, closed-form step (ALGORITHMS.md 3-4)", propose_ggd},
    FmMethod{"ristretto", "Ristretto's max rule, eq. (8) (1.3)", propose_ristretto},
    FmMethod{"max", "the plain max rule: threshold max|x| (11.5)", propose_max},
    FmMethod{"percentile", "threshold at the p-th percentile of |x| (11.3)", propose_percentile},
    FmMethod{"aciq", "analytical clipping, Laplace/Gauss/mix (11.1)", propose_aciq},
    FmMethod{"mse", "every frac of the window by squared error on the data (11.4)", propose_mse},
    FmMethod{"kl", "KL-divergence (entropy) calibration, TensorRT/ncnn (11.2)", propose_kl,
             decide_kl},
    FmMethod{"threshold", "equiprobable bins of a fitted normal, CDF+ReLU (9)", propose_threshold},
    FmMethod{"threshold-emp", "equiprobable bins at the data's quantiles (9.4)",
             propose_threshold_emp},
    FmMethod{"adlq", "distribution-based thresholds by next-layer error, Ki-Kim (10)", propose_adlq,
             decide_adlq},
};

}  // namespace

std::span<const FmMethod> fm_methods() { return kMethods; }

const FmMethod* find_fm_method(std::string_view name) {
  for (const FmMethod& m : kMethods)
    if (m.name == name) return &m;
  return nullptr;
}

std::string fm_method_names() {
  std::string out;
  for (const FmMethod& m : kMethods) {
    if (!out.empty()) out += ", ";
    out += m.name;
  }
  return out;
}

}  // namespace gammaq::quant
