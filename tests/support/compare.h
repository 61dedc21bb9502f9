// Tolerance rules (STYLE.md §3.4, after ruy's Agree): float results of a kernel against its
// reference agree when max|d| <= 64 * eps * sqrt(depth) * max|ref| and the mean difference is
// under that bound / sqrt(n). NaN-safe: a NaN difference fails.
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <span>
#include <string>

namespace gammaq::test {

inline ::testing::AssertionResult agree(std::span<const float> got, std::span<const float> ref,
                                        double depth) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << "sizes " << got.size() << " vs " << ref.size();
  double max_ref = 0.0;
  for (float v : ref) max_ref = std::max(max_ref, static_cast<double>(std::fabs(v)));
  const double tol =
      64.0 * FLT_EPSILON * std::sqrt(std::max(depth, 1.0)) * std::max(max_ref, 1e-30);
  double sum = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    if (!(std::fabs(d) <= tol))
      return ::testing::AssertionFailure()
             << "at " << i << ": got " << got[i] << ", reference " << ref[i] << " (|d| "
             << std::fabs(d) << " > tol " << tol << ")";
    sum += d;
  }
  const double mean_tol = tol / std::sqrt(static_cast<double>(got.size()));
  if (!(std::fabs(sum / got.size()) <= std::max(mean_tol, 4 * FLT_EPSILON * max_ref)))
    return ::testing::AssertionFailure()
           << "mean difference " << sum / got.size() << " > " << mean_tol;
  return ::testing::AssertionSuccess();
}

}  // namespace gammaq::test
