// SPDX-License-Identifier: MIT
// The data path allocates nothing per packet: encryption, decryption, the hand-over between the
// server's threads (PacketRing, RingFeed's per-peer queues), TCP merging, TSO segmentation and IPv4
// fragmentation run under a counting operator new after warm-up. (libslirp's own mbufs come from
// malloc/g_malloc and are outside this count, as intended.)
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "common/endian.h"
#include "net/clock.h"
#include "net/packet_batch.h"
#include "net/packet_ring.h"
#include "net/ring_feed.h"
#include "net/tcp_coalescer.h"
#include "net/tun_offload.h"
#include "slirp/packet.h"
#include "wireguard/device.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};

void* counted_allocation(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
}  // namespace

// Replaced for this test binary only (C++ [replacement.functions]).
void* operator new(std::size_t size) {
  return counted_allocation(size);
}
void* operator new[](std::size_t size) {
  return counted_allocation(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace slirpvpn {
namespace {

using namespace std::chrono_literals;

class CountingScope {
 public:
  CountingScope() {
    g_allocations = 0;
    g_counting = true;
  }
  ~CountingScope() { g_counting = false; }
  size_t allocations() const { return g_allocations.load(); }
};

class FixedRandom : public wireguard::RandomSource {
 public:
  explicit FixedRandom(uint8_t seed) : state_(seed) {}
  void fill(std::span<uint8_t> out) noexcept override {
    for (auto& byte : out) byte = uint8_t(state_ = state_ * 1103515245u + 12345u) ^ 0x5a;
  }

 private:
  uint32_t state_;
};

// Keeps the last datagram sent and the last packet delivered in fixed buffers.
class FixedOutput : public wireguard::DeviceOutput {
 public:
  void send_datagram(const wireguard::PeerAddress&,
                     std::span<const uint8_t> datagram) noexcept override {
    std::memcpy(sent.data(), datagram.data(), datagram.size());
    sent_length = datagram.size();
    ++sent_count;
  }
  void deliver_packet(wireguard::Peer&, std::span<uint8_t> packet) noexcept override {
    delivered_length = packet.size();
    ++delivered_count;
    // As the server's thread N hands decrypted packets to thread S.
    if (ring != nullptr) {
      ring->push(0, 1, packet);
      ring->publish();
    }
  }
  net::PacketRing* ring = nullptr;
  std::array<uint8_t, 2048> sent{};
  size_t sent_length = 0;
  size_t sent_count = 0;
  size_t delivered_length = 0;
  size_t delivered_count = 0;
};

wireguard::PeerAddress address(uint8_t last) {
  wireguard::PeerAddress result;
  result.family = 4;
  result.address[0] = 198;
  result.address[1] = 51;
  result.address[2] = 100;
  result.address[3] = last;
  result.port = 51820;
  return result;
}

crypto::PrivateKey key_from(wireguard::RandomSource& random) {
  crypto::Secret<32> bytes;
  random.fill(bytes.span());
  return crypto::PrivateKey::from_random(bytes.span());
}

// An IPv4/TCP segment 10.0.2.15:40000 -> 203.0.113.2:443 with valid checksums.
std::vector<uint8_t> tcp_segment(uint32_t seq, size_t payload, uint8_t flags = 0x10) {
  std::vector<uint8_t> p(40 + payload, 0);
  p[0] = 0x45;
  store_be16(&p[2], uint16_t(p.size()));
  p[8] = 64;
  p[9] = 6;
  const uint8_t source[4] = {10, 0, 2, 15};
  const uint8_t destination[4] = {203, 0, 113, 2};
  std::memcpy(&p[12], source, 4);
  std::memcpy(&p[16], destination, 4);
  store_be16(&p[10], slirp::checksum_finish(slirp::checksum_partial(std::span(p).first(20))));
  store_be16(&p[20], 40000);
  store_be16(&p[22], 443);
  store_be32(&p[24], seq);
  store_be32(&p[28], 77);
  p[32] = 5 << 4;
  p[33] = flags;
  store_be16(&p[34], 65535);
  for (size_t i = 0; i < payload; ++i) p[40 + i] = uint8_t(i + seq);
  store_be16(&p[36], slirp::transport_checksum(*net::IpAddress::parse("10.0.2.15"),
                                               *net::IpAddress::parse("203.0.113.2"),
                                               slirp::kProtocolTcp, std::span(p).subspan(20)));
  return p;
}

TEST(DataPathAllocation, EncryptDecryptAllocatesNothingPerPacket) {
  FixedRandom random_a(1), random_b(2);
  FixedOutput out_a, out_b;
  const auto wall = [] { return std::chrono::system_clock::time_point(1700000000s); };
  wireguard::Device a(key_from(random_a), random_a, out_a, wall);
  wireguard::Device b(key_from(random_b), random_b, out_b, wall);
  wireguard::PeerConfig to_b;
  to_b.public_key = b.identity().public_key;
  to_b.endpoint = address(1);
  wireguard::Peer& peer_b = a.add_peer(to_b);
  wireguard::PeerConfig to_a;
  to_a.public_key = a.identity().public_key;
  wireguard::Peer& peer_a = b.add_peer(to_a);

  auto now = net::Clock::now();
  a.initiate_handshake(peer_b, now);
  ASSERT_EQ(out_a.sent_count, 1u);
  ASSERT_EQ(b.receive({out_a.sent.data(), out_a.sent_length}, address(2), now),
            wireguard::DropReason::kNone);
  ASSERT_EQ(out_b.sent_count, 1u);
  ASSERT_EQ(a.receive({out_b.sent.data(), out_b.sent_length}, address(1), now),
            wireguard::DropReason::kNone);

  std::vector<uint8_t> packet = tcp_segment(1, 1380);
  std::vector<uint8_t> datagram(2048);
  // What b decrypts crosses a ring (both of the server's rings work alike) and is sent back.
  net::PacketRing ring(64, 2048);
  out_b.ring = &ring;
  const auto exchange = [&](int count) {
    for (int i = 0; i < count; ++i) {
      now += 10us;
      auto sealed = a.encapsulate(peer_b, packet, datagram, now);
      ASSERT_GT(sealed.length, 0u);
      ASSERT_EQ(b.receive({datagram.data(), sealed.length}, address(2), now),
                wireguard::DropReason::kNone);
      const net::PacketRing::Packet* handed = ring.front();
      ASSERT_NE(handed, nullptr);
      ASSERT_EQ(handed->bytes.size(), packet.size());
      sealed = b.encapsulate(peer_a, handed->bytes, datagram, now);
      ring.pop();
      ring.release();
      ASSERT_GT(sealed.length, 0u);
      ASSERT_EQ(a.receive({datagram.data(), sealed.length}, address(1), now),
                wireguard::DropReason::kNone);
    }
  };
  exchange(100);  // warm-up: the first transport packet confirms the responder's keypair
  const size_t delivered = out_a.delivered_count + out_b.delivered_count;
  {
    CountingScope scope;
    exchange(5000);
    EXPECT_EQ(scope.allocations(), 0u);
  }
  EXPECT_EQ(out_a.delivered_count + out_b.delivered_count, delivered + 10000);
  // The counter is live: one allocation is seen.
  {
    CountingScope scope;
    int* volatile probe = new int(1);  // volatile: the pair may not be optimised away
    delete probe;
    EXPECT_EQ(scope.allocations(), 1u);
  }
}

TEST(DataPathAllocation, QueueingForARingAllocatesNothing) {
  net::PacketRing ring(64, 2048);
  net::RingFeed feed(ring, 256);
  feed.reserve_ids(2);
  const std::vector<uint8_t> packet = tcp_segment(1, 1380);
  const auto round = [&] {
    // Two peers offer more than the ring takes; most of it waits in their queues.
    for (int i = 0; i < 100; ++i) (void)feed.push(uint32_t(i % 2), 1, packet);
    size_t taken = 0;
    do {
      (void)feed.feed();
      while (ring.front() != nullptr) {
        ring.pop();
        ++taken;
      }
      (void)ring.release();
    } while (feed.queued() > 0 || ring.front() != nullptr);
    return taken;
  };
  ASSERT_EQ(round(), 100u);  // warm-up
  CountingScope scope;
  size_t taken = 0;
  for (int i = 0; i < 1000; ++i) taken += round();
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(taken, 100000u);
  EXPECT_EQ(feed.dropped(), 0u);
}

TEST(DataPathAllocation, MergingSegmentingAndFragmentingAllocateNothing) {
  std::vector<uint8_t> buffer(65535);
  net::TcpCoalescer coalescer(buffer, 65535, /*uniform=*/true);
  net::PacketBatch pieces(64, 1420);
  std::vector<std::vector<uint8_t>> segments;
  for (uint32_t k = 0; k < 40; ++k) segments.push_back(tcp_segment(1000 + k * 1380, 1380));
  std::vector<uint8_t> with_header(net::kVirtioNetHeaderSize + 65535);
  std::array<uint8_t, net::kVirtioNetHeaderSize> header{};
  std::vector<uint8_t> udp(20 + 8 + 4000, 0);
  udp[0] = 0x45;
  store_be16(&udp[2], uint16_t(udp.size()));
  udp[8] = 64;
  udp[9] = slirp::kProtocolUdp;
  store_be16(&udp[10], slirp::checksum_finish(slirp::checksum_partial(std::span(udp).first(20))));
  slirp::IpInfo udp_info;
  ASSERT_EQ(slirp::parse_ip(udp, udp_info), slirp::IpDrop::kNone);

  CountingScope scope;
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(coalescer.start(segments[0]));
    for (size_t k = 1; k < segments.size(); ++k) {
      ASSERT_EQ(coalescer.add(segments[k]), net::TcpCoalescer::Added::kMerged);
    }
    const auto merged = coalescer.finish();
    std::memcpy(with_header.data() + net::kVirtioNetHeaderSize, merged.data(), merged.size());
    net::prepare_gso_write(std::span(with_header).subspan(net::kVirtioNetHeaderSize, merged.size()),
                           1380, header);
    std::memcpy(with_header.data(), header.data(), header.size());
    const auto split = net::split_offloaded_packet(
        std::span<const uint8_t>(with_header).first(net::kVirtioNetHeaderSize + merged.size()),
        pieces, 0);
    ASSERT_EQ(split.count, 40u);
    ASSERT_EQ(slirp::fragment_ipv4(udp_info, 1420, pieces), 3u);
  }
  EXPECT_EQ(scope.allocations(), 0u);
}

}  // namespace
}  // namespace slirpvpn
