// SPDX-License-Identifier: MIT
// slirpvpn-wgjunk: sends hostile WireGuard input to a server (random and truncated datagrams,
// initiations from unknown keys, replayed transport packets, spoofed inner sources) and checks
// that none of it is answered. Every mode is bounded in count and the whole run in time.
//
// Modes run in this order, any combination in one run:
//   --random N               N datagrams of random bytes and lengths; half of them carry a
//                            valid type byte 1..4 and zero reserved bytes (so they reach mac1,
//                            index and length checks), initiation-sized ones among them.
//   --truncated N            N datagrams with a valid header cut below their type's size.
//   --unknown-initiations N  N real handshake initiations (valid mac1) from fresh keys.
//   --replay-capture N       as a configured peer (--private-key-file): N echo requests to
//                            --target, each answered; then the same N datagrams again, which
//                            must get no answer.
//   --spoof-source ADDR      as a configured peer: --spoof-count echo requests whose inner
//                            source is ADDR (outside AllowedIPs), which must get no answer,
//                            between two from --tunnel-address that must.
//   --flood-seconds S        a handshake flood (issue 8) for S seconds or --flood-count
//                            datagrams, as fast as the socket and the CPU share allow (no
//                            pacing: run it under a cgroup cpu.max): a round-robin mix of
//                            random datagrams, initiations from unknown keys, transport packets
//                            captured as a configured peer (--private-key-file) and replayed,
//                            and initiations from --stale-key-file's key (a real peer's) with
//                            timestamps from 2001, which the server must see as stale. Pools
//                            are made before the clock starts; nothing may be answered but
//                            with cookie replies.
// Output: one `mode: key=value ...` line per mode, then `result: ok|failed`. Exit 0 when every
// expectation held, 1 when one did not, 2 on bad usage or a local error.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "icmp_packet.h"
#include "net/ip_address.h"
#include "net/peer_address.h"
#include "net/system_random.h"
#include "net/udp_socket.h"
#include "wireguard/constants.h"
#include "wireguard/device.h"

namespace slirpvpn::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Larger than any datagram we send or expect (echoes of 56 bytes, handshake messages).
constexpr size_t kSlotBytes = 2048;
constexpr size_t kBatchSlots = 32;
// Upper bound for any count option, so a typo cannot turn the tool into a flood.
constexpr size_t kMaxCount = 100000;

struct Options {
  std::string endpoint;
  std::string server_public_key;
  std::string private_key_file;
  std::string tunnel_address = "10.0.2.15";
  std::string target = "10.0.2.2";
  uint16_t listen_port = 0;
  size_t random = 0;
  size_t truncated = 0;
  size_t unknown_initiations = 0;
  size_t replay = 0;
  std::string spoof_source;
  size_t spoof_count = 5;
  unsigned rate = 2000;
  unsigned timeout_s = 30;
  uint64_t seed = 0;
  unsigned flood_seconds = 0;
  uint64_t flood_count = 10'000'000;
  std::string stale_key_file;
};

// Upper bound for --flood-count: 120 s at 400 000 datagrams a second.
constexpr uint64_t kMaxFloodCount = 50'000'000;

std::array<uint8_t, 4> ipv4_bytes(const std::string& text) {
  std::array<uint8_t, 4> out{};
  const auto address = net::IpAddress::parse(text);
  if (!address || !address->is_v4()) return out;
  const auto bytes = address->bytes();
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

std::optional<crypto::PrivateKey> read_private_key(const std::string& path) {
  std::ifstream file(path);
  std::string text;
  std::getline(file, text);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto bytes = crypto::decode_key(text);
  if (!bytes) return std::nullopt;
  return crypto::PrivateKey::from_bytes(*bytes);
}

// One UDP socket towards the server, paced sends, and a count of what came back by type.
class Wire {
 public:
  Wire(net::UdpSocket socket, net::Endpoint server, unsigned rate, Clock::time_point deadline)
      : socket_(std::move(socket)),
        server_(server),
        out_(1, kSlotBytes),
        in_(kBatchSlots, kSlotBytes),
        period_(std::chrono::duration_cast<Clock::duration>(1s) / std::max(rate, 1u)),
        deadline_(deadline) {}

  bool expired() const { return Clock::now() >= deadline_; }
  const net::Endpoint& server() const { return server_; }
  net::UdpSocket& socket() { return socket_; }

  // Sends one datagram to the server, no faster than the configured rate.
  void send(std::span<const uint8_t> bytes) {
    const auto now = Clock::now();
    if (next_send_ > now) std::this_thread::sleep_for(next_send_ - now);
    next_send_ = std::max(next_send_, now) + period_;
    send_now(server_, bytes);
  }

  void send_now(const net::Endpoint& to, std::span<const uint8_t> bytes) {
    auto& slot = out_[0];
    slot.reset();
    const size_t length = std::min(bytes.size(), kSlotBytes);
    std::copy_n(bytes.begin(), length, slot.data);
    slot.length = uint32_t(length);
    slot.peer = to;
    for (int attempt = 0; attempt < 100; ++attempt) {
      const auto outcome = socket_.send_batch(out_, 0, 1);
      if (!outcome.would_block) return;
      pollfd descriptor{socket_.fd(), POLLOUT, 0};
      ::poll(&descriptor, 1, 10);
    }
  }

  // Waits up to `wait` for datagrams and hands each to `handle(bytes, from)`.
  template <typename Handle>
  void receive(std::chrono::milliseconds wait, Handle&& handle) {
    pollfd descriptor{socket_.fd(), POLLIN, 0};
    ::poll(&descriptor, 1, int(wait.count()));
    for (;;) {
      const auto received = socket_.recv_batch(in_);
      if (!received || *received == 0) return;
      for (size_t i = 0; i < *received; ++i) {
        auto& slot = in_[i];
        for (size_t k = 0; k < slot.segment_count(); ++k) {
          const auto segment = slot.segment(k);
          if (!segment.empty() && segment[0] >= 1 && segment[0] <= 4)
            ++received_by_type_[segment[0]];
          // The same bytes, writable: the batch owns them and the device decrypts in place.
          const size_t offset = size_t(segment.data() - slot.data);
          handle(std::span<uint8_t>{slot.data + offset, segment.size()}, slot.peer);
        }
      }
    }
  }

  // Drains without handling: only the per-type counts move.
  void drain(std::chrono::milliseconds wait) {
    receive(wait, [](std::span<uint8_t>, const net::Endpoint&) {});
  }

  uint64_t received(uint8_t type) const { return received_by_type_[type]; }
  uint64_t received_total() const {
    return received_by_type_[1] + received_by_type_[2] + received_by_type_[3] +
           received_by_type_[4];
  }

 private:
  net::UdpSocket socket_;
  net::Endpoint server_;
  net::DatagramBatch out_;
  net::DatagramBatch in_;
  Clock::duration period_;
  Clock::time_point next_send_{};
  Clock::time_point deadline_;
  std::array<uint64_t, 5> received_by_type_{};
};

// The raw modes: bytes that no honest peer would send.
class RawJunk {
 public:
  RawJunk(Wire& wire, uint64_t seed) : wire_(wire), rng_(seed) {}

  bool random(size_t count) {
    const uint64_t before = wire_.received_total();
    std::vector<uint8_t> bytes(1400);
    size_t sent = 0;
    for (; sent < count && !wire_.expired(); ++sent) {
      size_t length = 1 + rng_() % bytes.size();
      for (auto& byte : bytes) byte = uint8_t(rng_());
      if (rng_() % 2) {
        const uint8_t type = uint8_t(1 + rng_() % 4);
        if (type == wireguard::kMessageInitiation && rng_() % 2) {
          length = wireguard::kInitiationSize;  // reaches the mac1 check
        }
        length = std::max<size_t>(length, 4);
        bytes[0] = type;
        bytes[1] = bytes[2] = bytes[3] = 0;
      }
      wire_.send({bytes.data(), length});
      if (sent % 64 == 63) wire_.drain(0ms);
    }
    wire_.drain(500ms);
    const uint64_t replies = wire_.received_total() - before;
    std::printf("random: sent=%zu replies=%llu\n", sent, (unsigned long long)replies);
    return sent == count && replies == 0;
  }

  bool truncated(size_t count) {
    static constexpr std::array<size_t, 4> kFullSize = {
        wireguard::kInitiationSize, wireguard::kResponseSize, wireguard::kCookieReplySize,
        wireguard::kTransportMinSize};
    const uint64_t before = wire_.received_total();
    std::vector<uint8_t> bytes(wireguard::kInitiationSize);
    size_t sent = 0;
    for (; sent < count && !wire_.expired(); ++sent) {
      const uint8_t type = uint8_t(1 + sent % 4);
      for (auto& byte : bytes) byte = uint8_t(rng_());
      bytes[0] = type;
      bytes[1] = bytes[2] = bytes[3] = 0;
      // 1..full-1 bytes: sometimes not even the 4-byte header.
      const size_t length = 1 + rng_() % (kFullSize[type - 1] - 1);
      wire_.send({bytes.data(), length});
      if (sent % 64 == 63) wire_.drain(0ms);
    }
    wire_.drain(500ms);
    const uint64_t replies = wire_.received_total() - before;
    std::printf("truncated: sent=%zu replies=%llu\n", sent, (unsigned long long)replies);
    return sent == count && replies == 0;
  }

 private:
  Wire& wire_;
  std::mt19937_64 rng_;
};

// Captures what a throw-away Device wants to send (its initiation) and sends it on the wire.
class Forwarder final : public wireguard::DeviceOutput {
 public:
  explicit Forwarder(Wire& wire) : wire_(wire) {}
  void send_datagram(const wireguard::PeerAddress&,
                     std::span<const uint8_t> datagram) noexcept override {
    wire_.send(datagram);
    ++sent_;
  }
  void deliver_packet(wireguard::Peer&, std::span<uint8_t>) noexcept override {}
  size_t sent() const { return sent_; }

 private:
  Wire& wire_;
  size_t sent_ = 0;
};

bool unknown_initiations(Wire& wire, const crypto::PublicKey& server_key, size_t count) {
  net::SystemRandom random;
  Forwarder forwarder(wire);
  const uint64_t responses_before = wire.received(wireguard::kMessageResponse);
  const uint64_t cookies_before = wire.received(wireguard::kMessageCookieReply);
  size_t attempts = 0;
  for (; attempts < count && !wire.expired(); ++attempts) {
    std::array<uint8_t, crypto::kKeyLen> secret;
    random.fill(secret);
    const auto key = crypto::PrivateKey::from_bytes(secret);
    wireguard::Device device(key, random, forwarder,
                             [] { return std::chrono::system_clock::now(); });
    wireguard::PeerConfig config;
    config.public_key = server_key;
    config.endpoint = net::to_peer_address(wire.server());
    auto& peer = device.add_peer(config);
    device.initiate_handshake(peer, Clock::now());
    if (attempts % 16 == 15) wire.drain(0ms);
  }
  wire.drain(1000ms);
  const uint64_t responses = wire.received(wireguard::kMessageResponse) - responses_before;
  const uint64_t cookies = wire.received(wireguard::kMessageCookieReply) - cookies_before;
  std::printf("unknown_initiations: sent=%zu responses=%llu cookie_replies=%llu\n",
              forwarder.sent(), (unsigned long long)responses, (unsigned long long)cookies);
  return forwarder.sent() == count && responses == 0;
}

// A legitimate peer of the server (its key is configured there) that then misbehaves.
class RoguePeer final : public wireguard::DeviceOutput {
 public:
  RoguePeer(Wire& wire, const crypto::PrivateKey& key, const crypto::PublicKey& server_key,
            const Options& options)
      : wire_(wire),
        device_(key, random_, *this, [] { return std::chrono::system_clock::now(); }),
        local_(ipv4_bytes(options.tunnel_address)),
        target_(ipv4_bytes(options.target)) {
    wireguard::PeerConfig config;
    config.public_key = server_key;
    config.endpoint = net::to_peer_address(wire.server());
    peer_ = &device_.add_peer(config);
  }

  void send_datagram(const wireguard::PeerAddress& to,
                     std::span<const uint8_t> datagram) noexcept override {
    if (capture_ && datagram.size() > wireguard::kTransportMinSize &&
        datagram[0] == wireguard::kMessageTransport) {
      captured_.emplace_back(datagram.begin(), datagram.end());
    }
    wire_.send_now(net::to_endpoint(to), datagram);
  }

  void deliver_packet(wireguard::Peer&, std::span<uint8_t> packet) noexcept override {
    const auto echo = parse_echo(packet);
    if (!echo || echo->is_request || echo->identifier != identifier_) return;
    replies_.emplace_back(echo->destination, echo->sequence);
  }

  void on_peer_event(wireguard::Peer&, wireguard::PeerEvent event) noexcept override {
    if (event == wireguard::PeerEvent::kHandshakeComplete) ++handshakes_;
  }

  // Echo requests from `source`, one every 50 ms; then waits until `expect` replies to
  // `source` arrived (or `wait` passed). Returns how many replies to `source` came.
  size_t ping(const std::array<uint8_t, 4>& source, size_t count, size_t expect,
              Clock::duration wait) {
    const size_t before = replies_to(source);
    for (size_t i = 0; i < count && !wire_.expired(); ++i) {
      send_echo(source, sequence_++);
      pump(50ms);
    }
    const auto until = Clock::now() + wait;
    while (Clock::now() < until && !wire_.expired() && replies_to(source) - before < expect) {
      pump(20ms);
    }
    return replies_to(source) - before;
  }

  bool replay(size_t count) {
    capture_ = true;
    const size_t answered = ping(local_, count, count, 10s);
    capture_ = false;
    pump(300ms);
    const size_t before = replies_.size();
    for (const auto& datagram : captured_) wire_.send(datagram);
    const auto until = Clock::now() + 1500ms;
    while (Clock::now() < until) pump(50ms);
    const size_t after_replay = replies_.size() - before;
    std::printf(
        "replay: handshakes=%zu sent=%zu answered=%zu replayed=%zu answers_to_replays=%zu\n",
        handshakes_, count, answered, captured_.size(), after_replay);
    return handshakes_ > 0 && answered == count && !captured_.empty() && after_replay == 0;
  }

  // Echo requests until `count` were answered; returns their transport datagrams.
  std::vector<std::vector<uint8_t>> capture_transport(size_t count) {
    capture_ = true;
    ping(local_, count, count, 10s);
    capture_ = false;
    pump(300ms);
    std::printf("capture: handshakes=%zu captured=%zu\n", handshakes_, captured_.size());
    std::fflush(stdout);  // the test waits for this line in a log file
    return std::move(captured_);
  }

  bool spoof(const std::string& spoofed_text, size_t count) {
    const auto spoofed = ipv4_bytes(spoofed_text);
    size_t control = ping(local_, 1, 1, 10s);
    const size_t answered = ping(spoofed, count, count, 1500ms);
    control += ping(local_, 1, 1, 5s);
    std::printf("spoof: source=%s sent=%zu answered=%zu control_answered=%zu/2\n",
                spoofed_text.c_str(), count, answered, control);
    return handshakes_ > 0 && answered == 0 && control == 2;
  }

 private:
  void send_echo(const std::array<uint8_t, 4>& source, uint16_t sequence) {
    std::array<uint8_t, 56> payload{};
    const Echo echo{true, source, target_, identifier_, sequence, payload};
    std::array<uint8_t, 256> packet;
    const size_t length = write_echo(echo, packet);
    std::array<uint8_t, 512> out;
    const auto result = device_.encapsulate(*peer_, {packet.data(), length}, out, Clock::now());
    if (result.length > 0) send_datagram(peer_->endpoint(), {out.data(), result.length});
  }

  void pump(std::chrono::milliseconds wait) {
    wire_.receive(wait, [this](std::span<uint8_t> bytes, const net::Endpoint& from) {
      device_.receive(bytes, net::to_peer_address(from), Clock::now());
    });
    if (device_.next_expiry(*peer_) <= Clock::now()) device_.on_timer(*peer_, Clock::now());
  }

  size_t replies_to(const std::array<uint8_t, 4>& destination) const {
    size_t n = 0;
    for (const auto& reply : replies_) n += reply.first == destination;
    return n;
  }

  Wire& wire_;
  net::SystemRandom random_;
  wireguard::Device device_;
  wireguard::Peer* peer_ = nullptr;
  std::array<uint8_t, 4> local_;
  std::array<uint8_t, 4> target_;
  uint16_t identifier_ = uint16_t(::getpid());
  uint16_t sequence_ = 0;
  size_t handshakes_ = 0;
  bool capture_ = false;
  std::vector<std::vector<uint8_t>> captured_;
  std::vector<std::pair<std::array<uint8_t, 4>, uint16_t>> replies_;
};

// Keeps what a throw-away Device sends (an initiation) instead of sending it.
class Keep final : public wireguard::DeviceOutput {
 public:
  void send_datagram(const wireguard::PeerAddress&,
                     std::span<const uint8_t> datagram) noexcept override {
    kept.emplace_back(datagram.begin(), datagram.end());
  }
  void deliver_packet(wireguard::Peer&, std::span<uint8_t>) noexcept override {}
  std::vector<std::vector<uint8_t>> kept;
};

// `count` initiations to the server from `key` (fresh keys when nullopt), stamped by `wall`.
std::vector<std::vector<uint8_t>> make_initiations(const crypto::PublicKey& server_key,
                                                   const net::Endpoint& server,
                                                   const std::optional<crypto::PrivateKey>& key,
                                                   size_t count,
                                                   std::chrono::system_clock::time_point wall) {
  net::SystemRandom random;
  Keep keep;
  Clock::time_point now = Clock::now();
  for (size_t i = 0; i < count; ++i) {
    crypto::PrivateKey own;
    if (key) {
      own = *key;
    } else {
      std::array<uint8_t, crypto::kKeyLen> secret;
      random.fill(secret);
      own = crypto::PrivateKey::from_bytes(secret);
    }
    wireguard::Device device(own, random, keep, [&wall] { return wall += 1s; });
    wireguard::PeerConfig config;
    config.public_key = server_key;
    config.endpoint = net::to_peer_address(server);
    device.initiate_handshake(device.add_peer(config), now += 10s);
  }
  return std::move(keep.kept);
}

// The flood: pools made first, then sendmmsg batches round-robin over the four kinds.
bool flood(Wire& wire, net::UdpSocket& socket, const Options& options,
           const crypto::PublicKey& server_key, std::vector<std::vector<uint8_t>> replays,
           const crypto::PrivateKey& stale_key, uint64_t seed) {
  enum Kind { kRandom, kUnknown, kReplay, kStale, kKinds };
  static constexpr const char* kNames[kKinds] = {"random", "unknown_initiations", "replays",
                                                 "stale_initiations"};
  std::mt19937_64 rng(seed);
  std::array<std::vector<std::vector<uint8_t>>, kKinds> pools;
  for (int i = 0; i < 1024; ++i) {
    std::vector<uint8_t> bytes(1 + rng() % 1400);
    for (auto& byte : bytes) byte = uint8_t(rng());
    if (rng() % 2 && bytes.size() >= 4) {  // a valid header: reaches the length and mac1 checks
      bytes[0] = uint8_t(1 + rng() % 4);
      bytes[1] = bytes[2] = bytes[3] = 0;
      if (bytes[0] == wireguard::kMessageInitiation && rng() % 2) {
        bytes.resize(wireguard::kInitiationSize);
      }
    }
    pools[kRandom].push_back(std::move(bytes));
  }
  pools[kUnknown] = make_initiations(server_key, wire.server(), std::nullopt, 256,
                                     std::chrono::system_clock::now());
  pools[kReplay] = std::move(replays);
  // 2001-09-09: long before the real peer's last handshake, so every one is stale.
  pools[kStale] = make_initiations(server_key, wire.server(), stale_key, 256,
                                   std::chrono::system_clock::time_point(1'000'000'000s));
  for (const auto& pool : pools) {
    if (pool.empty()) {
      std::fprintf(stderr, "wgjunk: a flood pool is empty (no transport captured?)\n");
      return false;
    }
  }
  const uint64_t before_type[5] = {0, wire.received(1), wire.received(2), wire.received(3),
                                   wire.received(4)};

  net::DatagramBatch batch(kBatchSlots, kSlotBytes);
  std::array<uint64_t, kKinds> sent{};
  std::array<size_t, kKinds> next{};
  uint64_t total = 0;
  uint64_t would_block = 0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::seconds(options.flood_seconds);
  while (total < options.flood_count && Clock::now() < until && !wire.expired()) {
    const size_t count = size_t(std::min<uint64_t>(kBatchSlots, options.flood_count - total));
    std::array<uint8_t, kBatchSlots> kinds{};
    for (size_t i = 0; i < count; ++i) {
      const auto kind = Kind((total + i) % kKinds);
      const auto& bytes = pools[kind][next[kind]++ % pools[kind].size()];
      auto& slot = batch[i];
      slot.reset();
      std::copy(bytes.begin(), bytes.end(), slot.data);
      slot.length = uint32_t(bytes.size());
      slot.peer = wire.server();
      kinds[i] = uint8_t(kind);
    }
    const auto outcome = socket.send_batch(batch, 0, count);
    for (size_t i = 0; i < outcome.consumed; ++i) ++sent[kinds[i]];
    total += outcome.consumed;
    // A full socket buffer: wait briefly instead of spinning (the rest of the batch is resent
    // as new datagrams of the same kinds in the next round).
    if (outcome.would_block) {
      ++would_block;
      pollfd descriptor{socket.fd(), POLLOUT, 0};
      ::poll(&descriptor, 1, 5);
    }
    if ((total / kBatchSlots) % 64 == 0) wire.drain(0ms);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  wire.drain(1000ms);
  const uint64_t cookies = wire.received(wireguard::kMessageCookieReply) - before_type[3];
  const uint64_t responses = wire.received(wireguard::kMessageResponse) - before_type[2];
  const uint64_t transport = wire.received(wireguard::kMessageTransport) - before_type[4];
  std::printf("flood: seconds=%.1f sent=%llu rate=%.0f", seconds, (unsigned long long)total,
              double(total) / std::max(seconds, 1e-3));
  for (int kind = 0; kind < kKinds; ++kind) {
    std::printf(" %s=%llu", kNames[kind], (unsigned long long)sent[kind]);
  }
  std::printf(" would_block=%llu cookie_replies=%llu responses=%llu transport_replies=%llu\n",
              (unsigned long long)would_block, (unsigned long long)cookies,
              (unsigned long long)responses, (unsigned long long)transport);
  return total > 0 && responses == 0 && transport == 0;
}

int run(const Options& options) {
  const auto server = net::Endpoint::parse(options.endpoint);
  if (!server) {
    std::fprintf(stderr, "wgjunk: bad --endpoint '%s'\n", options.endpoint.c_str());
    return 2;
  }
  const bool flooding = options.flood_seconds > 0;
  const bool needs_server_key = options.unknown_initiations > 0 || options.replay > 0 ||
                                !options.spoof_source.empty() || flooding;
  const bool needs_own_key = options.replay > 0 || !options.spoof_source.empty() || flooding;
  std::optional<crypto::PublicKey> server_key;
  if (needs_server_key) {
    const auto bytes = crypto::decode_key(options.server_public_key);
    if (!bytes) {
      std::fprintf(stderr, "wgjunk: this mode needs --server-public-key (base64)\n");
      return 2;
    }
    server_key = crypto::PublicKey{*bytes};
  }
  std::optional<crypto::PrivateKey> own_key;
  if (needs_own_key) {
    own_key = read_private_key(options.private_key_file);
    if (!own_key) {
      std::fprintf(stderr, "wgjunk: this mode needs --private-key-file (a configured peer's)\n");
      return 2;
    }
  }
  std::optional<crypto::PrivateKey> stale_key;
  if (flooding) {
    stale_key = read_private_key(options.stale_key_file);
    if (!stale_key) {
      std::fprintf(stderr, "wgjunk: --flood-seconds needs --stale-key-file (a real peer's key)\n");
      return 2;
    }
  }
  if (!options.spoof_source.empty()) {
    const auto spoofed = net::IpAddress::parse(options.spoof_source);
    if (!spoofed || !spoofed->is_v4()) {
      std::fprintf(stderr, "wgjunk: --spoof-source must be an IPv4 address\n");
      return 2;
    }
  }
  for (const auto* address : {&options.tunnel_address, &options.target}) {
    const auto parsed = net::IpAddress::parse(*address);
    if (!parsed || !parsed->is_v4()) {
      std::fprintf(stderr, "wgjunk: '%s' is not an IPv4 address\n", address->c_str());
      return 2;
    }
  }

  net::UdpSocketOptions socket_options;
  socket_options.gso = false;
  socket_options.gro = false;
  socket_options.receive_buffer_bytes = 1 << 20;
  socket_options.send_buffer_bytes = 1 << 20;
  auto socket = net::UdpSocket::open(options.listen_port, socket_options);
  if (!socket) {
    std::fprintf(stderr, "wgjunk: %s\n", socket.error().message().c_str());
    return 2;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(options.timeout_s);
  Wire wire(std::move(*socket), *server, options.rate, deadline);
  const uint64_t seed = options.seed != 0 ? options.seed : std::random_device{}();
  std::printf("wgjunk: target=%s seed=%llu\n", options.endpoint.c_str(), (unsigned long long)seed);
  std::fflush(stdout);

  bool ok = true;
  RawJunk raw(wire, seed);
  if (options.random > 0) ok &= raw.random(options.random);
  if (options.truncated > 0) ok &= raw.truncated(options.truncated);
  if (options.unknown_initiations > 0) {
    ok &= unknown_initiations(wire, *server_key, options.unknown_initiations);
  }
  if (needs_own_key) {
    RoguePeer rogue(wire, *own_key, *server_key, options);
    if (options.replay > 0) ok &= rogue.replay(options.replay);
    if (!options.spoof_source.empty()) ok &= rogue.spoof(options.spoof_source, options.spoof_count);
    if (flooding) {
      auto replays = rogue.capture_transport(16);
      ok &= flood(wire, wire.socket(), options, *server_key, std::move(replays), *stale_key, seed);
    }
  }
  if (wire.expired()) {
    std::printf("wgjunk: timed out after %us\n", options.timeout_s);
    ok = false;
  }
  std::printf("result: %s\n", ok ? "ok" : "failed");
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace slirpvpn::tools

int main(int argc, char** argv) {
  using namespace slirpvpn;
  tools::Options options;
  CLI::App app{"slirpvpn-wgjunk: hostile WireGuard input for a server, bounded in count and time"};
  app.add_option("--endpoint", options.endpoint, "the server's address:port")->required();
  app.add_option("--server-public-key", options.server_public_key, "the server's public key");
  app.add_option("--private-key-file", options.private_key_file,
                 "a configured peer's private key (replay and spoof modes)");
  app.add_option("--tunnel-address", options.tunnel_address, "that peer's allowed source");
  app.add_option("--target", options.target, "echo target inside the tunnel");
  app.add_option("--listen-port", options.listen_port, "our UDP port (0 = any)");
  const auto count = CLI::Range(size_t(0), tools::kMaxCount);
  app.add_option("--random", options.random, "random datagrams to send")->check(count);
  app.add_option("--truncated", options.truncated, "truncated messages to send")->check(count);
  app.add_option("--unknown-initiations", options.unknown_initiations,
                 "initiations from fresh keys to send")
      ->check(count);
  app.add_option("--replay-capture", options.replay,
                 "echo requests to send as a configured peer, then replay")
      ->check(CLI::Range(size_t(0), size_t(1000)));
  app.add_option("--spoof-source", options.spoof_source,
                 "inner source address outside the peer's AllowedIPs");
  app.add_option("--spoof-count", options.spoof_count, "spoofed echo requests")
      ->check(CLI::Range(size_t(1), size_t(1000)));
  app.add_option("--rate", options.rate, "datagrams per second in the flood modes")
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--timeout", options.timeout_s, "give up after this many seconds")
      ->check(CLI::Range(1u, 600u));
  app.add_option("--seed", options.seed, "random seed (0 = from the system)");
  app.add_option("--flood-seconds", options.flood_seconds, "flood mode: how long")
      ->check(CLI::Range(0u, 120u));
  app.add_option("--flood-count", options.flood_count, "flood mode: at most this many datagrams")
      ->check(CLI::Range(uint64_t(1), tools::kMaxFloodCount));
  app.add_option("--stale-key-file", options.stale_key_file,
                 "flood mode: a real peer's private key, for initiations with old timestamps");
  CLI11_PARSE(app, argc, argv);
  if (!crypto::initialize()) return 2;
  return tools::run(options);
}
