#include "gammaq/error.h"

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
