// SPDX-License-Identifier: MIT
// slirpvpn-wgswarm: N simulated WireGuard peers, each a Device of our protocol core with its
// own key, over a few UDP sockets (no TUN) against one running server: every peer handshakes
// and sends M ICMP echo requests through its tunnel, one outstanding at a time.
//
//   slirpvpn-wgswarm keys --peers N --keys-file K --peers-conf C
//       N private keys (base64, one a line) into K, and N [Peer] sections for the server into C
//   slirpvpn-wgswarm run --keys-file K --server-public-key P --endpoint HOST:PORT --pings M
//       prints `key: value` lines (handshakes, pings, RTT percentiles, elapsed time) and exits
//       non-zero if any peer did not complete its handshake and all M echoes by --timeout.
//   slirpvpn-wgswarm run ... --duration S --ping-interval-ms I --rekey-every R
//       soak: for S seconds every peer pings once per I ms and starts a new handshake every R
//       seconds (the responder's path, keypair rotation and index reuse of the server, as a
//       rekey drives them); exits non-zero unless every echo sent was answered.
//
// Datagrams from the server reach the right simulated peer by their receiver_index: the
// index each peer put in its initiations as sender_index (responses, cookie replies and
// transport packets all carry it back). Sends are batched per socket (sendmmsg), receives read
// whole batches (recvmmsg), so the harness costs a fraction of what the server under test does.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/endian.h"
#include "crypto/x25519.h"
#include "icmp_packet.h"
#include "net/ip_address.h"
#include "net/peer_address.h"
#include "net/system_random.h"
#include "net/udp_socket.h"
#include "wireguard/device.h"

namespace slirpvpn::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t kBatchSlots = 64;
constexpr size_t kSlotSize = 2048;
constexpr size_t kEchoPayload = 56;  // as ping(8)

struct RunOptions {
  std::string keys_file;
  std::string server_public_key;
  std::string endpoint;
  std::string target = "10.0.2.2";
  std::string tunnel_address = "10.0.2.15";
  int pings = 10;
  int timeout_s = 60;
  int ping_timeout_ms = 1000;
  // Peers starting per second: a burst of N initiations at once would overflow the server's
  // socket buffer (an unprivileged server gets net.core.rmem_max) and cost 5 s retries.
  int start_rate = 5000;
  size_t sockets = 0;  // 0: one per 256 peers
  // Soak mode when duration_s > 0: pings go on until then, paced by ping_interval_ms.
  int duration_s = 0;
  int ping_interval_ms = 1000;
  int rekey_every_s = 0;  // 0: only the device's own REKEY_AFTER_TIME
  int progress_every_s = 30;
};

double milliseconds(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

class Swarm;

// One simulated client: its device (whose only peer is the server) and its ping state.
struct SimPeer final : wireguard::DeviceOutput {
  SimPeer(Swarm& swarm, size_t id, size_t socket) : swarm(swarm), id(id), socket(socket) {}

  void send_datagram(const wireguard::PeerAddress& to,
                     std::span<const uint8_t> datagram) noexcept override;
  void deliver_packet(wireguard::Peer& peer, std::span<uint8_t> packet) noexcept override;
  void on_peer_event(wireguard::Peer& peer, wireguard::PeerEvent event) noexcept override;

  Swarm& swarm;
  size_t id;
  size_t socket;
  std::unique_ptr<wireguard::Device> device;
  wireguard::Peer* server = nullptr;
  bool handshake_done = false;
  int answered = 0;
  int sent = 0;
  uint16_t outstanding_sequence = 0;
  bool outstanding = false;
  Clock::time_point sent_at{};
  Clock::time_point next_ping{Clock::time_point::max()};   // soak: the next echo is due
  Clock::time_point next_rekey{Clock::time_point::max()};  // soak: our next initiation
};

class Swarm {
 public:
  Swarm(const RunOptions& options, const crypto::PublicKey& server_key,
        const net::Endpoint& endpoint, std::vector<net::UdpSocket> sockets)
      : options_(options), server_key_(server_key), endpoint_(endpoint) {
    for (auto& socket : sockets) {
      sockets_.push_back(std::move(socket));
      send_batches_.emplace_back(kBatchSlots, kSlotSize);
      send_counts_.push_back(0);
    }
    receive_batch_ = std::make_unique<net::DatagramBatch>(kBatchSlots, net::kMaxDatagramSize);
  }

  void add_peer(const crypto::PrivateKey& key) {
    const size_t id = peers_.size();
    auto peer = std::make_unique<SimPeer>(*this, id, id % sockets_.size());
    peer->device = std::make_unique<wireguard::Device>(
        key, random_, *peer, [] { return std::chrono::system_clock::now(); });
    wireguard::PeerConfig config;
    config.public_key = server_key_;
    config.endpoint = net::to_peer_address(endpoint_);
    peer->server = &peer->device->add_peer(config);
    peers_.push_back(std::move(peer));
  }

  int run(const std::array<uint8_t, 4>& local, const std::array<uint8_t, 4>& target) {
    local_ = local;
    target_ = target;
    rtts_.reserve(peers_.size() * size_t(options_.pings));
    start_ = Clock::now();
    soak_ = options_.duration_s > 0;
    soak_end_ = start_ + std::chrono::seconds(options_.duration_s);
    // A soak ends when its time is up and every echo in flight is answered or timed out.
    const auto deadline = start_ + std::chrono::seconds(options_.duration_s + options_.timeout_s);
    auto next_scan = start_;
    auto next_progress = start_ + std::chrono::seconds(options_.progress_every_s);
    std::vector<pollfd> descriptors;
    for (const auto& socket : sockets_) descriptors.push_back({socket.fd(), POLLIN, 0});
    while (Clock::now() < deadline) {
      if (!soak_ && finished_ == peers_.size()) break;
      if (soak_ && Clock::now() >= soak_end_ && started_ == peers_.size() && in_flight() == 0)
        break;
      if (soak_ && Clock::now() >= next_progress) {
        progress();
        next_progress += std::chrono::seconds(options_.progress_every_s);
      }
      ::poll(descriptors.data(), descriptors.size(), started_ < peers_.size() ? 1 : 5);
      for (size_t s = 0; s < sockets_.size(); ++s) receive_all(s);
      const auto now = Clock::now();
      start_peers(now);
      if (now >= next_scan) {
        scan(now);
        next_scan = now + 10ms;
      }
      flush();
    }
    return report();
  }

  // A datagram for the server from `peer`, into its socket's batch.
  void queue(SimPeer& peer, std::span<const uint8_t> datagram) noexcept {
    if (!datagram.empty() && datagram[0] == wireguard::kMessageInitiation && datagram.size() >= 8) {
      index_owner_[load_le32(datagram.data() + 4)] = &peer;
      ++initiations_sent_;
    }
    net::Datagram& slot = next_slot(peer.socket);
    std::copy(datagram.begin(), datagram.end(), slot.data);
    slot.length = uint32_t(datagram.size());
    slot.peer = endpoint_;
  }

  void echo_reply(SimPeer& peer, std::span<const uint8_t> packet) noexcept {
    const auto echo = parse_echo(packet);
    if (!echo || echo->is_request || echo->identifier != identifier(peer)) return;
    if (!peer.outstanding || echo->sequence != peer.outstanding_sequence) {
      ++late_replies_;
      return;
    }
    const auto now = Clock::now();
    peer.outstanding = false;
    ++peer.answered;
    ++answered_;
    rtts_.push_back(milliseconds(now - peer.sent_at));
    if (soak_) {
      peer.next_ping = now + std::chrono::milliseconds(options_.ping_interval_ms);
      if (peer.next_ping >= soak_end_) peer.next_ping = Clock::time_point::max();
    } else if (peer.answered < options_.pings) {
      send_ping(peer, now);
    } else {
      ++finished_;
    }
  }

  void handshake_complete(SimPeer& peer) noexcept {
    ++handshakes_total_;
    if (soak_ && options_.rekey_every_s > 0) {
      peer.next_rekey = Clock::now() + std::chrono::seconds(options_.rekey_every_s);
    }
    if (peer.handshake_done) return;
    peer.handshake_done = true;
    // The staged first echo leaves right after this event: its RTT starts now, not with the
    // handshake.
    peer.sent_at = Clock::now();
    ++handshakes_;
    if (handshakes_ == peers_.size()) handshakes_done_at_ = Clock::now();
  }

 private:
  static uint16_t identifier(const SimPeer& peer) noexcept { return uint16_t(peer.id + 1); }

  size_t in_flight() const noexcept {
    size_t count = 0;
    for (const auto& peer : peers_) count += peer->outstanding ? 1 : 0;
    return count;
  }

  void progress() const noexcept {
    std::fprintf(stderr,
                 "progress: t=%.0fs sent=%llu answered=%llu timeouts=%llu handshakes=%llu "
                 "rekeys_started=%llu\n",
                 std::chrono::duration<double>(Clock::now() - start_).count(),
                 static_cast<unsigned long long>(sent_), static_cast<unsigned long long>(answered_),
                 static_cast<unsigned long long>(timeouts_),
                 static_cast<unsigned long long>(handshakes_total_),
                 static_cast<unsigned long long>(rekeys_started_));
  }

  net::Datagram& next_slot(size_t socket) noexcept {
    if (send_counts_[socket] == kBatchSlots) flush_socket(socket);
    net::Datagram& slot = send_batches_[socket][send_counts_[socket]++];
    slot.reset();
    return slot;
  }

  // The first echo of each peer is staged by its device and starts its handshake.
  void start_peers(Clock::time_point now) noexcept {
    const double due = std::chrono::duration<double>(now - start_).count() * options_.start_rate;
    const size_t until = std::min(peers_.size(), size_t(due) + 1);
    for (; started_ < until; ++started_) send_ping(*peers_[started_], now);
  }

  void send_ping(SimPeer& peer, Clock::time_point now) noexcept {
    std::array<uint8_t, kEchoPayload> payload{};
    const Echo echo{true, local_, target_, identifier(peer), uint16_t(peer.sent), payload};
    std::array<uint8_t, 128> packet;
    const size_t length = write_echo(echo, packet);
    peer.outstanding_sequence = uint16_t(peer.sent);
    peer.outstanding = true;
    peer.sent_at = now;
    ++peer.sent;
    ++sent_;
    // Into a buffer of its own: encapsulate may itself queue an initiation (staging).
    std::array<uint8_t, 256> datagram;
    const auto result =
        peer.device->encapsulate(*peer.server, {packet.data(), length}, datagram, now);
    if (result.length == 0) return;  // staged for the handshake: the device sends it later
    queue(peer, {datagram.data(), result.length});
  }

  void receive_all(size_t socket) noexcept {
    for (int round = 0; round < 64; ++round) {
      const auto received = sockets_[socket].recv_batch(*receive_batch_);
      if (!received || *received == 0) return;
      const auto now = Clock::now();
      for (size_t i = 0; i < *received; ++i) {
        auto& slot = (*receive_batch_)[i];
        const auto from = net::to_peer_address(slot.peer);
        for (size_t k = 0; k < slot.segment_count(); ++k) {
          const auto segment = slot.segment(k);
          // Our index: receiver_index, after sender_index in a response (type 2).
          const size_t offset = segment[0] == wireguard::kMessageResponse ? 8 : 4;
          if (segment.size() < offset + 4) continue;
          const auto owner = index_owner_.find(load_le32(segment.data() + offset));
          if (owner == index_owner_.end()) {
            ++unroutable_;
            continue;
          }
          SimPeer& peer = *owner->second;
          const auto reason = peer.device->receive(
              {const_cast<uint8_t*>(segment.data()), segment.size()}, from, now);
          if (reason != wireguard::DropReason::kNone) ++drops_;
        }
      }
      if (*received < receive_batch_->slots()) return;
    }
  }

  // Protocol timers, and echoes that got no answer within --ping-timeout-ms (sent again with
  // the next sequence number: the lost one is counted as unanswered).
  void scan(Clock::time_point now) noexcept {
    const auto ping_timeout = std::chrono::milliseconds(options_.ping_timeout_ms);
    for (auto& peer : peers_) {
      if (peer->device->next_expiry(*peer->server) <= now) {
        peer->device->on_timer(*peer->server, now);
      }
      if (peer->outstanding && peer->handshake_done && now - peer->sent_at > ping_timeout) {
        ++timeouts_;
        if (soak_) {
          peer->outstanding = false;  // counted as unanswered; the pace goes on
          if (now < soak_end_) peer->next_ping = now;
        } else {
          send_ping(*peer, now);
        }
      }
      if (!soak_) continue;
      if (!peer->outstanding && now >= peer->next_ping && now < soak_end_) {
        peer->next_ping = Clock::time_point::max();
        send_ping(*peer, now);
      }
      if (now >= peer->next_rekey && now < soak_end_) {
        // Until this handshake completes no new one is due (an initiation lost on the way is
        // retried by the device's own REKEY_TIMEOUT timer).
        peer->next_rekey = Clock::time_point::max();
        ++rekeys_started_;
        peer->device->initiate_handshake(*peer->server, now);
      }
    }
  }

  void flush_socket(size_t socket) noexcept {
    size_t begin = 0;
    const size_t count = send_counts_[socket];
    for (int attempt = 0; begin < count && attempt < 1000; ++attempt) {
      const auto outcome = sockets_[socket].send_batch(send_batches_[socket], begin, count);
      begin += outcome.consumed + outcome.dropped;
      send_failed_ += outcome.dropped;
      if (outcome.would_block) {
        pollfd descriptor{sockets_[socket].fd(), POLLOUT, 0};
        ::poll(&descriptor, 1, 10);
      }
    }
    send_failed_ += count - begin;
    send_counts_[socket] = 0;
  }

  void flush() noexcept {
    for (size_t s = 0; s < sockets_.size(); ++s) flush_socket(s);
  }

  double percentile(double p) const {
    if (rtts_.empty()) return 0;
    const size_t index = std::min(rtts_.size() - 1, size_t(p / 100.0 * double(rtts_.size())));
    return rtts_[index];
  }

  int report() {
    const auto elapsed = Clock::now() - start_;
    std::sort(rtts_.begin(), rtts_.end());
    size_t failed = 0;
    for (const auto& peer : peers_) {
      const bool pings_done =
          soak_ ? peer->sent > 0 && peer->answered == peer->sent : peer->answered >= options_.pings;
      if (!peer->handshake_done || !pings_done) ++failed;
    }
    std::printf("peers: %zu sockets=%zu\n", peers_.size(), sockets_.size());
    std::printf("handshakes: completed=%zu initiations_sent=%llu", handshakes_,
                static_cast<unsigned long long>(initiations_sent_));
    if (handshakes_ == peers_.size()) {
      std::printf(" all_done_s=%.3f", milliseconds(handshakes_done_at_ - start_) / 1000.0);
    }
    std::printf(" total=%llu rekeys_started=%llu\n",
                static_cast<unsigned long long>(handshakes_total_),
                static_cast<unsigned long long>(rekeys_started_));
    std::printf("pings: sent=%llu answered=%llu timeouts=%llu late=%llu\n",
                static_cast<unsigned long long>(sent_), static_cast<unsigned long long>(answered_),
                static_cast<unsigned long long>(timeouts_),
                static_cast<unsigned long long>(late_replies_));
    std::printf("rtt_ms: p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", percentile(50), percentile(90),
                percentile(99), rtts_.empty() ? 0.0 : rtts_.back());
    std::printf("datagrams: dropped_by_core=%llu unroutable=%llu send_failed=%llu\n",
                static_cast<unsigned long long>(drops_),
                static_cast<unsigned long long>(unroutable_),
                static_cast<unsigned long long>(send_failed_));
    std::printf("elapsed_s: %.3f\n", milliseconds(elapsed) / 1000.0);
    std::printf("failed_peers: %zu\n", failed);
    std::printf("result: %s\n", failed == 0 ? "ok" : "failed");
    return failed == 0 ? 0 : 1;
  }

  const RunOptions& options_;
  crypto::PublicKey server_key_;
  net::Endpoint endpoint_;
  net::SystemRandom random_;
  std::vector<net::UdpSocket> sockets_;
  std::vector<net::DatagramBatch> send_batches_;
  std::vector<size_t> send_counts_;
  std::unique_ptr<net::DatagramBatch> receive_batch_;
  std::vector<std::unique_ptr<SimPeer>> peers_;
  std::unordered_map<uint32_t, SimPeer*> index_owner_;
  std::array<uint8_t, 4> local_{};
  std::array<uint8_t, 4> target_{};
  Clock::time_point start_{};
  Clock::time_point handshakes_done_at_{};
  size_t handshakes_ = 0;
  bool soak_ = false;
  Clock::time_point soak_end_{};
  uint64_t handshakes_total_ = 0;
  uint64_t rekeys_started_ = 0;
  size_t started_ = 0;
  size_t finished_ = 0;
  uint64_t initiations_sent_ = 0;
  uint64_t sent_ = 0;
  uint64_t answered_ = 0;
  uint64_t timeouts_ = 0;
  uint64_t late_replies_ = 0;
  uint64_t drops_ = 0;
  uint64_t unroutable_ = 0;
  uint64_t send_failed_ = 0;
  std::vector<double> rtts_;
};

void SimPeer::send_datagram(const wireguard::PeerAddress&,
                            std::span<const uint8_t> datagram) noexcept {
  swarm.queue(*this, datagram);
}

void SimPeer::deliver_packet(wireguard::Peer&, std::span<uint8_t> packet) noexcept {
  swarm.echo_reply(*this, packet);
}

void SimPeer::on_peer_event(wireguard::Peer&, wireguard::PeerEvent event) noexcept {
  if (event == wireguard::PeerEvent::kHandshakeComplete) swarm.handshake_complete(*this);
}

crypto::PrivateKey new_private_key(net::SystemRandom& random) {
  crypto::Secret<crypto::kKeyLen> bytes;
  random.fill(bytes.span());
  return crypto::PrivateKey::from_random(bytes.span());
}

int write_keys(size_t count, const std::string& keys_file, const std::string& peers_conf) {
  std::ofstream keys(keys_file, std::ios::trunc);
  std::ofstream conf(peers_conf, std::ios::trunc);
  if (!keys || !conf) {
    std::fprintf(stderr, "wgswarm: cannot write %s or %s\n", keys_file.c_str(), peers_conf.c_str());
    return 2;
  }
  net::SystemRandom random;
  for (size_t i = 0; i < count; ++i) {
    const crypto::PrivateKey key = new_private_key(random);
    keys << crypto::encode_key(key.span()) << '\n';
    conf << "[Peer]\nName = swarm" << i
         << "\nPublicKey = " << crypto::encode_key(crypto::derive_public_key(key).span()) << "\n\n";
  }
  return keys && conf ? 0 : 2;
}

int run(const RunOptions& options, size_t limit) {
  const auto server_key = crypto::decode_key(options.server_public_key);
  const auto endpoint = net::Endpoint::parse(options.endpoint);
  const auto local = net::IpAddress::parse(options.tunnel_address);
  const auto target = net::IpAddress::parse(options.target);
  if (!server_key || !endpoint || !local || !local->is_v4() || !target || !target->is_v4()) {
    std::fprintf(stderr, "wgswarm: bad server key, endpoint, tunnel address or target\n");
    return 2;
  }
  std::vector<crypto::PrivateKey> keys;
  std::ifstream file(options.keys_file);
  std::string line;
  while (std::getline(file, line) && keys.size() < limit) {
    if (line.empty()) continue;
    const auto bytes = crypto::decode_key(line);
    if (!bytes) {
      std::fprintf(stderr, "wgswarm: %s: not a base64 key: line %zu\n", options.keys_file.c_str(),
                   keys.size() + 1);
      return 2;
    }
    keys.push_back(crypto::PrivateKey::from_bytes(*bytes));
  }
  if (keys.empty()) {
    std::fprintf(stderr, "wgswarm: no keys in %s\n", options.keys_file.c_str());
    return 2;
  }
  const size_t socket_count =
      options.sockets > 0 ? options.sockets : std::max<size_t>(1, (keys.size() + 255) / 256);
  std::vector<net::UdpSocket> sockets;
  net::UdpSocketOptions socket_options;
  socket_options.gso = false;  // every datagram goes to one server: nothing to coalesce
  socket_options.gro = false;
  for (size_t i = 0; i < socket_count; ++i) {
    auto socket = net::UdpSocket::open(
        net::Endpoint{endpoint->address.is_v4() ? *net::IpAddress::parse("0.0.0.0")
                                                : *net::IpAddress::parse("::"),
                      0},
        socket_options);
    if (!socket) {
      std::fprintf(stderr, "wgswarm: %s\n", socket.error().message().c_str());
      return 2;
    }
    sockets.push_back(std::move(*socket));
  }
  Swarm swarm(options, crypto::PublicKey{*server_key}, *endpoint, std::move(sockets));
  for (const auto& key : keys) swarm.add_peer(key);
  std::array<uint8_t, 4> local_bytes{}, target_bytes{};
  std::copy(local->bytes().begin(), local->bytes().end(), local_bytes.begin());
  std::copy(target->bytes().begin(), target->bytes().end(), target_bytes.begin());
  return swarm.run(local_bytes, target_bytes);
}

}  // namespace
}  // namespace slirpvpn::tools

int main(int argc, char** argv) {
  using namespace slirpvpn;
  CLI::App app{"slirpvpn-wgswarm: many simulated WireGuard peers against one server"};
  app.require_subcommand(1);

  size_t key_count = 0;
  std::string keys_file, peers_conf;
  auto* keys = app.add_subcommand("keys", "generate peer keys and the server's [Peer] sections");
  keys->add_option("--peers", key_count, "how many")->required();
  keys->add_option("--keys-file", keys_file, "private keys, one a line")->required();
  keys->add_option("--peers-conf", peers_conf, "[Peer] sections for the server")->required();

  tools::RunOptions options;
  size_t limit = SIZE_MAX;
  auto* run = app.add_subcommand("run", "handshake and ping with every key");
  run->add_option("--keys-file", options.keys_file, "private keys, one a line")->required();
  run->add_option("--peers", limit, "use only the first N keys");
  run->add_option("--server-public-key", options.server_public_key)->required();
  run->add_option("--endpoint", options.endpoint, "the server's address:port")->required();
  run->add_option("--pings", options.pings, "echo requests per peer");
  run->add_option("--target", options.target, "echo target inside the tunnel (IPv4)");
  run->add_option("--tunnel-address", options.tunnel_address, "every peer's tunnel address");
  run->add_option("--timeout", options.timeout_s, "give up after this many seconds");
  run->add_option("--ping-timeout-ms", options.ping_timeout_ms, "resend an unanswered echo");
  run->add_option("--sockets", options.sockets, "UDP sockets (0: one per 256 peers)");
  run->add_option("--start-rate", options.start_rate, "peers starting their handshake per second")
      ->check(CLI::Range(1, 1000000));
  run->add_option("--duration", options.duration_s,
                  "soak: ping for this many seconds instead of --pings times");
  run->add_option("--ping-interval-ms", options.ping_interval_ms, "soak: each peer's echo pace")
      ->check(CLI::Range(1, 3600000));
  run->add_option("--rekey-every", options.rekey_every_s,
                  "soak: each peer starts a new handshake this many seconds after its last one")
      ->check(CLI::Range(0, 3600));
  run->add_option("--progress-every", options.progress_every_s,
                  "soak: a progress line on stderr this often (seconds)")
      ->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);

  if (!crypto::initialize()) return 2;
  if (keys->parsed()) return tools::write_keys(key_count, keys_file, peers_conf);
  return tools::run(options, limit);
}
