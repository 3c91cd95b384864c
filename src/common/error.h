// SPDX-License-Identifier: MIT
// Environment errors (syscalls, files, capabilities) as values: Expected<T> = T or Error.
#pragma once

#include <cerrno>
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace slirpvpn {

// What went wrong outside our program: the operation, errno (0 when none applies) and context.
struct Error {
  std::string operation;
  int error_number = 0;
  std::string context;

  // "operation: context: strerror" in the order a reader wants it.
  std::string message() const;
};

template <typename T>
using Expected = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string operation, std::string context = {},
                                  int error_number = 0) {
  return tl::unexpected<Error>(Error{std::move(operation), error_number, std::move(context)});
}

// For a failed syscall: captures errno at the call site.
inline tl::unexpected<Error> fail_errno(std::string operation, std::string context = {}) {
  return fail(std::move(operation), std::move(context), errno);
}

}  // namespace slirpvpn
