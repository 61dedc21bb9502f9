#include "gammaq/error.h"

#include <cstdint>

namespace gammaq {

std::string_view error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidModel: return "invalid model";
    case ErrorKind::UnsupportedOp: return "unsupported operator";
    case ErrorKind::InvalidData: return "invalid data";
    case ErrorKind::InvalidOption: return "invalid option";
    case ErrorKind::Numerical: return "numerical";
    case ErrorKind::Io: return "i/o";
  }
  return "unknown";
}

std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape = [&](unsigned char b) {
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 15];
  };
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7f) {
        escape(b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, continuation bytes 10xxxxxx, no
    // overlong forms, no surrogates, at most U+10FFFF (RFC 3629).
    size_t len = 0;
    uint32_t cp = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2, cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3, cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4, cp = b & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xc0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    ok = ok && !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
         !(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
    // C1 controls (U+0080..U+009F) are escaped like C0 ones.
    if (ok && len == 2 && cp < 0xa0) ok = false;
    if (!ok) {
      escape(b);
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

Error with_context(const Error& e, std::string_view context) {
  return Error(e.kind(), str_cat(context, ": ", e.what()));
}

namespace detail {
void throw_internal(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(str_cat(file, ":", line, ": check failed: ", cond, msg.empty() ? "" : " ",
                              msg, " (please report)"));
}
}  // namespace detail

}  // namespace gammaq
