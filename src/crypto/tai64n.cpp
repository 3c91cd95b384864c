// SPDX-License-Identifier: MIT
// TAI64N encoding.
#include "crypto/tai64n.h"

#include <cstring>

#include "common/endian.h"

namespace slirpvpn::crypto {

Timestamp tai64n(std::chrono::system_clock::time_point now) noexcept {
  using namespace std::chrono;
  const auto since_epoch = now.time_since_epoch();
  const auto seconds = duration_cast<std::chrono::seconds>(since_epoch);
  const auto nanos = uint32_t(duration_cast<nanoseconds>(since_epoch - seconds).count());
  constexpr uint64_t kTai64Base = (uint64_t(1) << 62) + 10;
  constexpr uint32_t kWhitenerMask = (1u << 24) - 1;
  Timestamp stamp{};
  store_be64(stamp.data(), kTai64Base + uint64_t(seconds.count()));
  store_be32(stamp.data() + 8, nanos & ~kWhitenerMask);
  return stamp;
}

bool timestamp_after(std::span<const uint8_t, kTimestampLen> candidate,
                     std::span<const uint8_t, kTimestampLen> reference) noexcept {
  return std::memcmp(candidate.data(), reference.data(), kTimestampLen) > 0;
}

}  // namespace slirpvpn::crypto
