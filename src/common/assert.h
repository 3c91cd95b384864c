// SPDX-License-Identifier: MIT
// SLIRPVPN_ASSERT: our own bugs (impossible states) abort; peer input never reaches here.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SLIRPVPN_ASSERT(condition)                                                           \
  do {                                                                                       \
    if (!(condition)) [[unlikely]] {                                                         \
      std::fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
