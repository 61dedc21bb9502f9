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

enum class ErrorKind { InvalidModel, UnsupportedOp, InvalidData, InvalidOption, Numerical, Io };

[[nodiscard]] std::string_view error_kind_name(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Returns a copy of `e` whose message is "<context>: <e.what()>" (context added where known).
[[nodiscard]] Error with_context(const Error& e, std::string_view context);

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
