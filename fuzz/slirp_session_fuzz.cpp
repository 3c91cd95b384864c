// SPDX-License-Identifier: MIT
// libFuzzer target: a peer's decrypted packets through SlirpSession into the patched libslirp
// (our checks, egress policy, TCP merging, MSS handling, then slirp's IP/TCP/UDP/ICMP input and
// whatever it answers back through our frame parser), in a network namespace of its own.
//
// Input: a flags byte, then records of a 16-bit big-endian length and that many bytes, each one
// packet from the peer. Flag bit 0 asks for lengths and checksums to be made valid before a
// packet goes in (IPv4 total length and header checksum, IPv6 payload length, TCP/UDP/ICMP
// checksums), so that mutations reach slirp's protocol code instead of its checksum check.
// Every input gets a new session, so a crash reproduces from its input alone.
//
// slirp turns packets into real socket calls (connect, sendto, DNS forwarding). The fuzzer
// therefore moves itself into a new, empty network namespace before the first input (as root,
// or through a user namespace otherwise) and refuses to run when it cannot: nothing it does can
// reach any network, not even loopback (whose interface stays down).
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/endian.h"
#include "net/event_loop.h"
#include "slirp/packet.h"
#include "slirp/slirp_session.h"

using namespace slirpvpn;

namespace {

bool write_file(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  return written;
}

bool enter_empty_network_namespace() {
  if (::unshare(CLONE_NEWNET) == 0) return true;
  const uid_t uid = ::getuid();
  const gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return false;
  // Mapped to ourselves, so files the fuzzer writes (corpus, crashes) keep our owner.
  return write_file("/proc/self/setgroups", "deny") &&
         write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") &&
         write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1");
}

struct CountingSink final : slirp::PacketSink {
  void deliver_ip(std::span<const uint8_t> packet) noexcept override { bytes += packet.size(); }
  size_t bytes = 0;
};

// Makes the length fields and checksums of `packet` valid, as far as its headers allow.
void make_valid(std::span<uint8_t> packet) {
  if (packet.size() >= 20 && packet[0] >> 4 == 4) {
    const size_t header = size_t(packet[0] & 0x0f) * 4;
    if (header < 20 || header > packet.size()) return;
    store_be16(&packet[2], uint16_t(packet.size()));
    store_be16(&packet[10], 0);
    store_be16(&packet[10], slirp::checksum_finish(slirp::checksum_partial(packet.first(header))));
  } else if (packet.size() >= 40 && packet[0] >> 4 == 6) {
    store_be16(&packet[4], uint16_t(packet.size() - 40));
  } else {
    return;
  }
  slirp::IpInfo info;
  if (slirp::parse_ip(packet, info) != slirp::IpDrop::kNone || info.non_first_fragment) return;
  const size_t offset = info.l4_offset;
  size_t field = 0;
  if (info.protocol == slirp::kProtocolTcp) {
    field = offset + 16;
  } else if (info.protocol == slirp::kProtocolUdp) {
    field = offset + 6;
  } else if (info.protocol == slirp::kProtocolIcmp || info.protocol == slirp::kProtocolIcmpv6) {
    field = offset + 2;
  } else {
    return;
  }
  if (field + 2 > packet.size()) return;
  const auto l4 = packet.subspan(offset, info.packet.size() - offset);
  store_be16(&packet[field], 0);
  const uint16_t checksum =
      info.protocol == slirp::kProtocolIcmp
          ? slirp::checksum_finish(slirp::checksum_partial(l4))
          : slirp::transport_checksum(info.source, info.destination, info.protocol, l4);
  store_be16(&packet[field], checksum);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!enter_empty_network_namespace()) {
    std::fprintf(stderr,
                 "slirp_session_fuzz: cannot enter an empty network namespace (needs root or "
                 "unprivileged user namespaces); refusing to send fuzzed packets to a network\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix = (data[0] & 1) != 0;
  static net::EventLoop loop = std::move(*net::EventLoop::create());
  CountingSink sink;
  slirp::SessionConfig config;
  config.icmp_echo = slirp::IcmpEchoMode::kRefuse;
  auto session = slirp::SlirpSession::create(config, loop, sink);
  if (!session) std::abort();
  std::vector<uint8_t> packet;
  size_t at = 1;
  while (at + 2 <= size) {
    const size_t length = std::min<size_t>(load_be16(data + at), size - at - 2);
    at += 2;
    packet.assign(data + at, data + at + length);
    at += length;
    if (fix) make_valid(packet);
    (*session)->input_ip_packet(packet);
  }
  (*session)->flush_input();
  // slirp answers some packets from its timers (delayed ACKs, retransmissions).
  for (int pass = 0; pass < 3; ++pass) (void)loop.run_once(std::chrono::milliseconds(0));
  return 0;
}
