// SPDX-License-Identifier: MIT
// libFuzzer target for the WireGuard message parsers (src/wireguard/messages.h).
//
// Properties checked on every input, each a crash when violated:
//  - no parser reads outside the datagram (ASan) or hits undefined behaviour (UBSan);
//  - at most one parser accepts a datagram, and only one whose message_type() agrees;
//  - a parsed fixed-size message is exactly its size and writes back to the same bytes;
//  - a transport view lies inside the datagram, right after its 16-byte header.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "wireguard/messages.h"

namespace {

using namespace slirpvpn::wireguard;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "messages_fuzz: %s\n", what);
  std::abort();
}

void check(bool condition, const char* what) {
  if (!condition) fail(what);
}

template <size_t N>
void check_round_trip(std::span<const uint8_t> datagram, const std::array<uint8_t, N>& written,
                      const char* what) {
  check(datagram.size() == N, what);
  check(std::memcmp(datagram.data(), written.data(), N) == 0, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> datagram(data, size);
  const auto type = message_type(datagram);
  int accepted = 0;

  if (const auto message = parse_initiation(datagram)) {
    ++accepted;
    check(type && *type == kMessageInitiation, "initiation accepted with another type");
    std::array<uint8_t, kInitiationSize> out{};
    write_initiation(*message, out);
    check_round_trip(datagram, out, "initiation does not round-trip");
  }
  if (const auto message = parse_response(datagram)) {
    ++accepted;
    check(type && *type == kMessageResponse, "response accepted with another type");
    std::array<uint8_t, kResponseSize> out{};
    write_response(*message, out);
    check_round_trip(datagram, out, "response does not round-trip");
  }
  if (const auto message = parse_cookie_reply(datagram)) {
    ++accepted;
    check(type && *type == kMessageCookieReply, "cookie reply accepted with another type");
    std::array<uint8_t, kCookieReplySize> out{};
    write_cookie_reply(*message, out);
    check_round_trip(datagram, out, "cookie reply does not round-trip");
  }
  if (const auto view = parse_transport(datagram)) {
    ++accepted;
    check(type && *type == kMessageTransport, "transport accepted with another type");
    check(size >= kTransportMinSize, "transport shorter than a keepalive");
    const uint8_t* begin = view->ciphertext.data();
    check(begin == data + kTransportHeaderSize, "ciphertext does not follow the header");
    check(view->ciphertext.size() == size - kTransportHeaderSize, "ciphertext length wrong");
    check(begin + view->ciphertext.size() == data + size, "ciphertext runs past the datagram");
    std::array<uint8_t, kTransportHeaderSize> header{};
    write_transport_header(view->receiver_index, view->counter, header);
    check(std::memcmp(header.data(), data, kTransportHeaderSize) == 0,
          "transport header does not round-trip");
  }

  check(accepted <= 1, "more than one parser accepted the datagram");
  if (!type) check(accepted == 0, "a parser accepted what message_type rejected");
  return 0;
}
