// Exceptions thrown by the core. The Python bindings map each to a builtin exception type.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include "export.h"

namespace ember {

struct EMBER_API Error : std::runtime_error {            // -> RuntimeError
  using std::runtime_error::runtime_error;
};
struct EMBER_API ValueError : Error { using Error::Error; };              // -> ValueError
struct EMBER_API IndexError : Error { using Error::Error; };              // -> IndexError
struct EMBER_API TypeError : Error { using Error::Error; };               // -> TypeError
struct EMBER_API NotImplementedError : Error { using Error::Error; };     // -> NotImplementedError

namespace detail {
inline void cat_to(std::ostringstream&) {}
template <typename T, typename... R>
void cat_to(std::ostringstream& os, const T& v, const R&... r) { os << v; cat_to(os, r...); }
}  // namespace detail

// Concatenates the arguments with operator<< into one message.
template <typename... A>
std::string str_cat(const A&... a) { std::ostringstream os; detail::cat_to(os, a...); return os.str(); }

}  // namespace ember

// EMBER_CHECK(cond, msg parts...): throw ember::Error (or EMBER_CHECK_T(Type, ...)) when cond is false.
#define EMBER_CHECK(cond, ...) \
  do { if (!(cond)) throw ::ember::Error(::ember::str_cat(__VA_ARGS__)); } while (0)
#define EMBER_CHECK_T(type, cond, ...) \
  do { if (!(cond)) throw ::ember::type(::ember::str_cat(__VA_ARGS__)); } while (0)
