// Errors: one convention for the whole library (STYLE.md §3.3).
//
// Input errors -- anything a file, a dataset or an option can cause -- throw gammaq::Error
// with a kind and a one-line message "where: what failed: rule or expected value [; hint]".
// The CLI prints "gammaq: error: <message>" and exits with 2.
// Bugs throw gammaq::InternalError (via GAMMAQ_CHECK) carrying file:line; the CLI exits 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gammaq {

// What kind of input was at fault.
enum class ErrorKind {
  InvalidModel,   // a malformed model file (or its metadata)
  UnsupportedOp,  // an operator or attribute value gammaq does not implement
  InvalidData,    // a dataset, quant.json or array that is malformed or does not fit the model
  InvalidOption,  // an option value out of range or inconsistent with the others
  Numerical,      // NaN/Inf or degenerate values where a number is needed
  Io,             // a file that cannot be read or written
};

// "InvalidModel", "UnsupportedOp", ... (the enumerator's name).
[[nodiscard]] std::string_view error_kind_name(ErrorKind kind) noexcept;

// `text` as one printable line: valid UTF-8 is kept (names in any script), while control
// characters (newline, tab, escape, DEL, C1) and bytes that are not UTF-8 become \xNN.
// Idempotent, so that a message wrapped again (with_context) is not escaped twice. Names read
// from a model or dataset are untrusted text; every message that carries one passes through
// here (Error does it for its message, the CLI for warnings).
[[nodiscard]] std::string printable(std::string_view text);

// An input error: what() is the one-line message (printable()), kind() its category.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(printable(message)), kind_(kind) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Returns a copy of `e` whose message is "<context>: <e.what()>" (context added where known).
[[nodiscard]] Error with_context(const Error& e, std::string_view context);

// A broken invariant inside gammaq (a bug, never bad input): what() names file and line.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Concatenates its arguments with operator<< into a string.
template <typename... Args>
[[nodiscard]] std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

namespace detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* cond,
                                 const std::string& msg);
}  // namespace detail

}  // namespace gammaq

// GAMMAQ_CHECK(cond, values...): a broken invariant (a bug, never bad input).
#define GAMMAQ_CHECK(cond, ...)                                                           \
  do {                                                                                    \
    if (!(cond))                                                                          \
      ::gammaq::detail::throw_internal(__FILE__, __LINE__, #cond,                         \
                                       ::gammaq::str_cat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
