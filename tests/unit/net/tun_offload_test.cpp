// SPDX-License-Identifier: MIT
// split_offloaded_packet on hand-built super-packets, and on the kernel's own TSO through a TUN.
#include "net/tun_offload.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "common/endian.h"
#include "net/netlink.h"
#include "net/netns_fixture.h"
#include "net/tun_device.h"

namespace slirpvpn::net {
namespace {

// An independent RFC 1071 sum for checking (not the code under test).
uint32_t add_words(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n % 2) sum += uint32_t(p[n - 1]) << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// True when the IPv4 header checksum (if v4) and the L4 checksum of `packet` verify.
bool checksums_valid(std::span<const uint8_t> packet) {
  const bool v4 = (packet[0] >> 4) == 4;
  const size_t ip_length = v4 ? (packet[0] & 0x0f) * 4u : 40u;
  if (v4 && fold(add_words(packet.data(), ip_length)) != 0xffff) return false;
  const uint8_t protocol = v4 ? packet[9] : packet[6];
  const size_t l4 = packet.size() - ip_length;
  uint32_t sum = protocol + uint32_t(l4);
  sum = v4 ? add_words(&packet[12], 8, sum) : add_words(&packet[8], 32, sum);
  return fold(add_words(&packet[ip_length], l4, sum)) == 0xffff;
}

void put_virtio(std::vector<uint8_t>& bytes, uint8_t flags, uint8_t gso_type, uint16_t gso_size,
                uint16_t csum_start, uint16_t csum_offset) {
  const uint16_t fields[4] = {0, gso_size, csum_start, csum_offset};
  bytes[0] = flags;
  bytes[1] = gso_type;
  std::memcpy(&bytes[2], fields, sizeof fields);  // native order, as the TUN driver uses
}

// virtio header + IP + TCP(ACK|PSH|FIN) + `payload` bytes (byte i = i % 251), partial checksum.
std::vector<uint8_t> tcp_super_packet(bool v4, size_t payload, uint16_t gso_size) {
  const size_t ip_length = v4 ? 20 : 40;
  std::vector<uint8_t> bytes(kVirtioNetHeaderSize + ip_length + 20 + payload);
  uint8_t* ip = &bytes[kVirtioNetHeaderSize];
  const uint8_t source4[4] = {198, 51, 100, 1}, destination4[4] = {198, 51, 100, 2};
  if (v4) {
    ip[0] = 0x45;
    store_be16(ip + 2, static_cast<uint16_t>(ip_length + 20 + payload));
    store_be16(ip + 4, 0x1000);
    ip[8] = 64;
    ip[9] = 6;
    std::memcpy(ip + 12, source4, 4);
    std::memcpy(ip + 16, destination4, 4);
  } else {
    ip[0] = 0x60;
    store_be16(ip + 4, static_cast<uint16_t>(20 + payload));
    ip[6] = 6;
    ip[7] = 64;
    ip[8] = 0xfe;
    ip[9] = 0xc0;
    ip[23] = 1;
    ip[24] = 0xfe;
    ip[25] = 0xc0;
    ip[39] = 2;
  }
  uint8_t* tcp = ip + ip_length;
  store_be16(tcp, 40000);
  store_be16(tcp + 2, 5000);
  store_be32(tcp + 4, 0xfffff000);  // wraps inside the packet
  store_be32(tcp + 8, 1);
  tcp[12] = 5 << 4;
  tcp[13] = 0x10 | 0x08 | 0x01 | 0x80;  // ACK PSH FIN CWR
  store_be16(tcp + 14, 65535);
  for (size_t i = 0; i < payload; ++i) tcp[20 + i] = static_cast<uint8_t>(i % 251);
  // The partial checksum the kernel leaves: the pseudo-header sum only (not complemented).
  uint32_t pseudo = 6 + uint32_t(20 + payload);
  pseudo = v4 ? add_words(ip + 12, 8, pseudo) : add_words(ip + 8, 32, pseudo);
  store_be16(tcp + 16, fold(pseudo));
  put_virtio(bytes, kVirtioNeedsChecksum, v4 ? kVirtioGsoTcpV4 : kVirtioGsoTcpV6, gso_size,
             static_cast<uint16_t>(ip_length), 16);
  return bytes;
}

void check_segments(bool v4, size_t payload, uint16_t gso_size, size_t expected_segments) {
  const auto super = tcp_super_packet(v4, payload, gso_size);
  PacketBatch out(64, 2048);
  const SplitOutcome outcome = split_offloaded_packet(super, out, 1);
  ASSERT_EQ(outcome.drop, OffloadDrop::kNone);
  ASSERT_EQ(outcome.count, expected_segments);
  const size_t ip_length = v4 ? 20 : 40;
  size_t offset = 0;
  for (size_t k = 0; k < outcome.count; ++k) {
    SCOPED_TRACE(k);
    const auto segment = out.packet(1 + k);
    const size_t size = std::min<size_t>(gso_size, payload - offset);
    ASSERT_EQ(segment.size(), ip_length + 20 + size);
    EXPECT_TRUE(checksums_valid(segment));
    if (v4) {
      EXPECT_EQ(load_be16(&segment[2]), segment.size());
      EXPECT_EQ(load_be16(&segment[4]), 0x1000 + k);
    } else {
      EXPECT_EQ(load_be16(&segment[4]), segment.size() - 40);
    }
    const uint8_t* tcp = &segment[ip_length];
    EXPECT_EQ(load_be32(tcp + 4), uint32_t(0xfffff000u + offset));
    const bool last = k + 1 == outcome.count;
    EXPECT_EQ((tcp[13] & 0x01) != 0, last) << "FIN only on the last";
    EXPECT_EQ((tcp[13] & 0x08) != 0, last) << "PSH only on the last";
    EXPECT_EQ((tcp[13] & 0x80) != 0, k == 0) << "CWR only on the first";
    for (size_t i = 0; i < size; ++i) {
      ASSERT_EQ(tcp[20 + i], static_cast<uint8_t>((offset + i) % 251));
    }
    offset += size;
  }
  EXPECT_EQ(offset, payload);
}

TEST(TunOffload, SegmentsTcpv4SuperPacket) {
  check_segments(true, 3000, 1000, 3);
}
TEST(TunOffload, SegmentsTcpv6SuperPacketWithShortTail) {
  check_segments(false, 2500, 1000, 3);
}
TEST(TunOffload, SegmentsOddSizes) {
  check_segments(true, 4097, 1357, 4);
}

TEST(TunOffload, CompletesPartialUdpChecksumWithoutGso) {
  std::vector<uint8_t> bytes(kVirtioNetHeaderSize + 20 + 8 + 5);
  uint8_t* ip = &bytes[kVirtioNetHeaderSize];
  ip[0] = 0x45;
  store_be16(ip + 2, 33);
  ip[8] = 64;
  ip[9] = 17;
  ip[12] = 198, ip[13] = 51, ip[14] = 100, ip[15] = 1;
  ip[16] = 198, ip[17] = 51, ip[18] = 100, ip[19] = 2;
  store_be16(ip + 10, static_cast<uint16_t>(~fold(add_words(ip, 20))));
  store_be16(ip + 20, 1234);
  store_be16(ip + 22, 5678);
  store_be16(ip + 24, 13);
  std::memcpy(ip + 28, "hello", 5);
  store_be16(ip + 26, fold(add_words(ip + 12, 8, 17 + 13)));
  put_virtio(bytes, kVirtioNeedsChecksum, kVirtioGsoNone, 0, 20, 6);
  PacketBatch out(1, 2048);
  const SplitOutcome outcome = split_offloaded_packet(bytes, out, 0);
  ASSERT_EQ(outcome.count, 1u);
  EXPECT_EQ(out.length(0), 33u);
  EXPECT_TRUE(checksums_valid(out.packet(0)));
}

TEST(TunOffload, DropsWhatItCannotHandle) {
  PacketBatch out(4, 2048);
  std::vector<uint8_t> tiny(12);
  EXPECT_EQ(split_offloaded_packet(tiny, out, 0).drop, OffloadDrop::kMalformed);

  auto udp_gso = tcp_super_packet(true, 3000, 1000);
  udp_gso[1] = kVirtioGsoUdpL4;
  EXPECT_EQ(split_offloaded_packet(udp_gso, out, 0).drop, OffloadDrop::kUnsupported);

  auto many = tcp_super_packet(true, 5000, 1000);  // 5 segments, 4 slots
  EXPECT_EQ(split_offloaded_packet(many, out, 0).drop, OffloadDrop::kNoRoom);

  auto wrong_family = tcp_super_packet(true, 3000, 1000);
  wrong_family[1] = kVirtioGsoTcpV6;
  EXPECT_EQ(split_offloaded_packet(wrong_family, out, 0).drop, OffloadDrop::kMalformed);

  auto bad_offset = tcp_super_packet(true, 100, 1000);
  bad_offset[1] = kVirtioGsoNone;
  const uint16_t far = 5000;
  std::memcpy(&bad_offset[6], &far, 2);
  EXPECT_EQ(split_offloaded_packet(bad_offset, out, 0).drop, OffloadDrop::kMalformed);

  auto zero_mss = tcp_super_packet(true, 3000, 0);
  EXPECT_EQ(split_offloaded_packet(zero_mss, out, 0).drop, OffloadDrop::kMalformed);
}

// The kernel's own TCP sends through an offload TUN: we play the peer far enough (SYN-ACK with
// MSS 1000) for it to send data, and check that what the splitter makes of each read is a valid
// stream of segments carrying exactly the bytes written.
class TunOffloadNetnsTest : public testing::NetnsTest {};

TEST_F(TunOffloadNetnsTest, KernelTsoSuperPacketsSplitIntoValidSegments) {
  TunOptions options;
  options.offload = true;
  auto tun = TunDevice::open("svoff", options);
  ASSERT_TRUE(tun) << tun.error().message();
  ASSERT_TRUE(tun->offload());
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  const int index = *netlink->link_index("svoff");
  ASSERT_TRUE(netlink->add_address(index, *InterfaceAddress::parse("198.51.100.1/24")));
  ASSERT_TRUE(netlink->set_link_up(index, true));

  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(5000);
  peer.sin_addr.s_addr = htonl(0xc6336402);  // 198.51.100.2
  ::connect(client, reinterpret_cast<sockaddr*>(&peer), sizeof peer);

  std::vector<uint8_t> read_buffer(kVirtioNetHeaderSize + 65535);
  PacketBatch segments(64, 2048);
  // Reads the TUN until `handle` returns true for a TCP segment to port 5000, or 3 s pass.
  size_t gso_reads = 0;
  auto pump = [&](auto&& handle) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd descriptor{tun->fd(), POLLIN, 0};
      ::poll(&descriptor, 1, 100);
      auto length = tun->read(read_buffer);
      if (!length || *length == 0) continue;
      if (read_buffer[1] != kVirtioGsoNone) ++gso_reads;
      const auto outcome = split_offloaded_packet({read_buffer.data(), *length}, segments, 0);
      EXPECT_EQ(outcome.drop, OffloadDrop::kNone);
      for (size_t k = 0; k < outcome.count; ++k) {
        const auto packet = segments.packet(k);
        if ((packet[0] >> 4) != 4 || packet[9] != 6) continue;  // IPv6 noise
        EXPECT_TRUE(checksums_valid(packet));
        if (load_be16(&packet[22]) == 5000 && handle(packet)) return true;
      }
    }
    return false;
  };

  uint32_t client_sequence = 0;
  uint16_t client_port = 0;
  ASSERT_TRUE(pump([&](std::span<const uint8_t> syn) {
    client_sequence = load_be32(&syn[24]);
    client_port = load_be16(&syn[20]);
    return (syn[33] & 0x02) != 0;
  }));

  // SYN-ACK from 198.51.100.2:5000, MSS option 1000, no window scaling.
  std::vector<uint8_t> syn_ack(20 + 24);
  syn_ack[0] = 0x45;
  store_be16(&syn_ack[2], 44);
  syn_ack[8] = 64;
  syn_ack[9] = 6;
  const uint8_t addresses[8] = {198, 51, 100, 2, 198, 51, 100, 1};
  std::memcpy(&syn_ack[12], addresses, 8);
  store_be16(&syn_ack[10], static_cast<uint16_t>(~fold(add_words(syn_ack.data(), 20))));
  uint8_t* tcp = &syn_ack[20];
  store_be16(tcp, 5000);
  store_be16(tcp + 2, client_port);
  store_be32(tcp + 4, 777);
  store_be32(tcp + 8, client_sequence + 1);
  tcp[12] = 6 << 4;
  tcp[13] = 0x12;
  store_be16(tcp + 14, 65535);
  tcp[20] = 2, tcp[21] = 4;
  store_be16(tcp + 22, 1000);
  store_be16(tcp + 16,
             static_cast<uint16_t>(~fold(add_words(tcp, 24, add_words(&syn_ack[12], 8, 6 + 24)))));
  ASSERT_TRUE(checksums_valid(syn_ack));
  auto written = tun->write(syn_ack);
  ASSERT_TRUE(written) << written.error().message();

  // Wait for the connection, then send 8000 bytes.
  pollfd writable{client, POLLOUT, 0};
  ASSERT_EQ(::poll(&writable, 1, 2000), 1);
  std::vector<uint8_t> data(8000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  ASSERT_EQ(::send(client, data.data(), data.size(), 0), ssize_t(data.size()));

  std::vector<uint8_t> received(data.size());
  std::vector<bool> have(data.size(), false);
  size_t count = 0;
  size_t largest = 0;
  EXPECT_TRUE(pump([&](std::span<const uint8_t> segment) {
    const size_t payload = segment.size() - 20 - (segment[32] >> 4) * 4u;
    largest = std::max(largest, payload);
    const size_t offset = load_be32(&segment[24]) - (client_sequence + 1);
    for (size_t i = 0; i < payload && offset + i < data.size(); ++i) {
      received[offset + i] = segment[segment.size() - payload + i];
      if (!have[offset + i]) ++count, have[offset + i] = true;
    }
    return count == data.size();
  }));
  EXPECT_EQ(received, data);
  EXPECT_LE(largest, 1000u) << "segments respect the MSS";
  EXPECT_GT(gso_reads, 0u) << "the kernel sent no TSO super-packet";
  ::close(client);
}

}  // namespace
}  // namespace slirpvpn::net
