// SPEC strings (DESIGN.md "Data SPEC strings"):
//
//   fashion-mnist:train | fashion-mnist:test
//   idx:IMAGES[,LABELS]          the first ',' separates the two paths
//   npy:IMAGES.npy[,LABELS.npy]
//   folder:DIR
//   any of them + "[a:b]"        a trailing slice; a and b are optional decimal integers
//                                with an optional sign, resolved like python's seq[a:b]
#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

constexpr std::array<std::string_view, 4> kSchemes = {"fashion-mnist", "idx", "npy", "folder"};

[[noreturn]] void bad_spec(std::string_view spec, std::string_view what) {
  throw Error(ErrorKind::InvalidOption, str_cat("data spec '", spec, "': ", what));
}

// Parses an optional signed decimal integer; nullopt for "", throws for anything else.
std::optional<int64_t> parse_bound(std::string_view text, std::string_view spec) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  bool negative = false;
  if (digits.front() == '+' || digits.front() == '-') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, magnitude);
  if (digits.empty() || ec != std::errc() || ptr != end ||
      magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    bad_spec(spec, str_cat("bad slice bound '", text, "': expected an integer such as 100 or -10"));
  }
  const auto value = static_cast<int64_t>(magnitude);
  return negative ? -value : value;
}

}  // namespace

DataSpec parse_data_spec(std::string_view spec) {
  DataSpec out;
  out.text = std::string(spec);
  std::string_view body = spec;

  // Trailing "[a:b]".
  if (!body.empty() && body.back() == ']') {
    const size_t open = body.rfind('[');
    if (open == std::string_view::npos) bad_spec(spec, "unmatched ']': expected a [a:b] slice");
    const std::string_view inside = body.substr(open + 1, body.size() - open - 2);
    const size_t colon = inside.find(':');
    if (colon == std::string_view::npos || inside.find(':', colon + 1) != std::string_view::npos) {
      bad_spec(spec, str_cat("bad slice '[", inside, "]': expected [a:b] (a, b optional)"));
    }
    SliceBounds slice;
    slice.start = parse_bound(inside.substr(0, colon), spec);
    slice.stop = parse_bound(inside.substr(colon + 1), spec);
    out.slice = slice;
    body = body.substr(0, open);
  } else if (body.find('[') != std::string_view::npos &&
             body.find(']', body.rfind('[')) == std::string_view::npos) {
    bad_spec(spec, "unterminated '[': expected a [a:b] slice at the end");
  }

  const size_t colon = body.find(':');
  if (colon == std::string_view::npos) {
    bad_spec(spec, "missing scheme: expected fashion-mnist:, idx:, npy: or folder:");
  }
  out.scheme = std::string(body.substr(0, colon));
  if (std::find(kSchemes.begin(), kSchemes.end(), out.scheme) == kSchemes.end()) {
    bad_spec(spec, str_cat("unknown scheme '", out.scheme,
                           "': expected fashion-mnist, idx, npy or folder"));
  }
  std::string_view rest = body.substr(colon + 1);

  if (out.scheme == "fashion-mnist") {
    if (rest != "train" && rest != "test") {
      bad_spec(spec, str_cat("unknown split '", rest, "': expected train or test"));
    }
    out.images = std::string(rest);
    return out;
  }
  if (out.scheme == "idx" || out.scheme == "npy") {
    const size_t comma = rest.find(',');
    if (comma != std::string_view::npos) {
      out.labels = std::string(rest.substr(comma + 1));
      rest = rest.substr(0, comma);
      if (out.labels.empty()) bad_spec(spec, "empty labels path after ','");
    }
  }
  if (rest.empty()) bad_spec(spec, "empty path");
  out.images = std::string(rest);
  return out;
}

Range resolve_slice(const SliceBounds& slice, int64_t n) noexcept {
  auto clamp = [n](std::optional<int64_t> bound, int64_t fallback) {
    if (!bound) return fallback;
    int64_t v = *bound;
    if (v < 0) v = v < -n ? 0 : v + n;  // written to avoid overflow near INT64_MIN
    return std::min(v, n);
  };
  Range r;
  r.begin = clamp(slice.start, 0);
  r.end = std::max(r.begin, clamp(slice.stop, n));
  return r;
}

}  // namespace gammaq::data
