// SPDX-License-Identifier: MIT
// Parsing and writing of WireGuard messages with explicit little-endian framing.
#include "wireguard/messages.h"

#include <algorithm>
#include <cstring>

#include "common/endian.h"

namespace slirpvpn::wireguard {
namespace {

// Copies a fixed-size field and advances; the caller has checked the total size.
template <size_t N>
void take(std::array<uint8_t, N>& field, const uint8_t*& cursor) noexcept {
  std::memcpy(field.data(), cursor, N);
  cursor += N;
}

template <size_t N>
void put(const std::array<uint8_t, N>& field, uint8_t*& cursor) noexcept {
  std::memcpy(cursor, field.data(), N);
  cursor += N;
}

void put_header(uint8_t type, uint8_t*& cursor) noexcept {
  cursor[0] = type;
  cursor[1] = cursor[2] = cursor[3] = 0;
  cursor += 4;
}

// Checks the exact size of a fixed-size message after its type was recognised.
DropReason check_fixed_size(size_t actual, size_t expected) noexcept {
  if (actual < expected) return DropReason::kTooShort;
  if (actual > expected) return DropReason::kTooLong;
  return DropReason::kNone;
}

}  // namespace

tl::expected<uint8_t, DropReason> message_type(std::span<const uint8_t> datagram) noexcept {
  if (datagram.size() < 4) return tl::unexpected(DropReason::kTooShort);
  const uint8_t type = datagram[0];
  if (type < kMessageInitiation || type > kMessageTransport) {
    return tl::unexpected(DropReason::kUnknownType);
  }
  if (datagram[1] != 0 || datagram[2] != 0 || datagram[3] != 0) {
    return tl::unexpected(DropReason::kReservedNotZero);
  }
  return type;
}

tl::expected<Initiation, DropReason> parse_initiation(std::span<const uint8_t> datagram) noexcept {
  const auto type = message_type(datagram);
  if (!type) return tl::unexpected(type.error());
  if (*type != kMessageInitiation) return tl::unexpected(DropReason::kUnknownType);
  if (auto reason = check_fixed_size(datagram.size(), kInitiationSize);
      reason != DropReason::kNone) {
    return tl::unexpected(reason);
  }
  Initiation message;
  const uint8_t* cursor = datagram.data() + 4;
  message.sender_index = load_le32(cursor);
  cursor += 4;
  take(message.unencrypted_ephemeral, cursor);
  take(message.encrypted_static, cursor);
  take(message.encrypted_timestamp, cursor);
  take(message.mac1, cursor);
  take(message.mac2, cursor);
  return message;
}

tl::expected<Response, DropReason> parse_response(std::span<const uint8_t> datagram) noexcept {
  const auto type = message_type(datagram);
  if (!type) return tl::unexpected(type.error());
  if (*type != kMessageResponse) return tl::unexpected(DropReason::kUnknownType);
  if (auto reason = check_fixed_size(datagram.size(), kResponseSize); reason != DropReason::kNone) {
    return tl::unexpected(reason);
  }
  Response message;
  const uint8_t* cursor = datagram.data() + 4;
  message.sender_index = load_le32(cursor);
  message.receiver_index = load_le32(cursor + 4);
  cursor += 8;
  take(message.unencrypted_ephemeral, cursor);
  take(message.encrypted_nothing, cursor);
  take(message.mac1, cursor);
  take(message.mac2, cursor);
  return message;
}

tl::expected<CookieReply, DropReason> parse_cookie_reply(
    std::span<const uint8_t> datagram) noexcept {
  const auto type = message_type(datagram);
  if (!type) return tl::unexpected(type.error());
  if (*type != kMessageCookieReply) return tl::unexpected(DropReason::kUnknownType);
  if (auto reason = check_fixed_size(datagram.size(), kCookieReplySize);
      reason != DropReason::kNone) {
    return tl::unexpected(reason);
  }
  CookieReply message;
  const uint8_t* cursor = datagram.data() + 4;
  message.receiver_index = load_le32(cursor);
  cursor += 4;
  take(message.nonce, cursor);
  take(message.encrypted_cookie, cursor);
  return message;
}

tl::expected<TransportView, DropReason> parse_transport(
    std::span<const uint8_t> datagram) noexcept {
  const auto type = message_type(datagram);
  if (!type) return tl::unexpected(type.error());
  if (*type != kMessageTransport) return tl::unexpected(DropReason::kUnknownType);
  if (datagram.size() < kTransportMinSize) return tl::unexpected(DropReason::kTooShort);
  TransportView view;
  view.receiver_index = load_le32(datagram.data() + 4);
  view.counter = load_le64(datagram.data() + 8);
  view.ciphertext = datagram.subspan(kTransportHeaderSize);
  return view;
}

void write_initiation(const Initiation& message, std::span<uint8_t, kInitiationSize> out) noexcept {
  uint8_t* cursor = out.data();
  put_header(kMessageInitiation, cursor);
  store_le32(cursor, message.sender_index);
  cursor += 4;
  put(message.unencrypted_ephemeral, cursor);
  put(message.encrypted_static, cursor);
  put(message.encrypted_timestamp, cursor);
  put(message.mac1, cursor);
  put(message.mac2, cursor);
}

void write_response(const Response& message, std::span<uint8_t, kResponseSize> out) noexcept {
  uint8_t* cursor = out.data();
  put_header(kMessageResponse, cursor);
  store_le32(cursor, message.sender_index);
  store_le32(cursor + 4, message.receiver_index);
  cursor += 8;
  put(message.unencrypted_ephemeral, cursor);
  put(message.encrypted_nothing, cursor);
  put(message.mac1, cursor);
  put(message.mac2, cursor);
}

void write_cookie_reply(const CookieReply& message,
                        std::span<uint8_t, kCookieReplySize> out) noexcept {
  uint8_t* cursor = out.data();
  put_header(kMessageCookieReply, cursor);
  store_le32(cursor, message.receiver_index);
  cursor += 4;
  put(message.nonce, cursor);
  put(message.encrypted_cookie, cursor);
}

void write_transport_header(uint32_t receiver_index, uint64_t counter,
                            std::span<uint8_t, kTransportHeaderSize> out) noexcept {
  uint8_t* cursor = out.data();
  put_header(kMessageTransport, cursor);
  store_le32(cursor, receiver_index);
  store_le64(cursor + 4, counter);
}

size_t padding_length(size_t length, size_t mtu) noexcept {
  const auto align = [](size_t n) {
    return (n + kPaddingMultiple - 1) / kPaddingMultiple * kPaddingMultiple;
  };
  if (mtu == 0) return align(length) - length;
  size_t last_unit = length;
  if (last_unit > mtu) last_unit %= mtu;
  const size_t padded = std::min(mtu, align(last_unit));
  return padded > last_unit ? padded - last_unit : 0;
}

}  // namespace slirpvpn::wireguard
