// Internal to src/fit: the Boost.Math policy every special-function call uses. Errors are
// reported as NaN/inf instead of exceptions; callers check finiteness and fall back.
#pragma once

#include <boost/math/policies/policy.hpp>
#include <limits>

namespace gammaq::fit::detail {

using Policy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::pole_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace gammaq::fit::detail
