// SPDX-License-Identifier: MIT
// slirpvpn-wgprobe: drives the WireGuard protocol core over a plain UDP socket (no TUN) against
// a real peer: handshake in either direction, ICMP echo through the tunnel, replay checks.
// Used by the interop tests and the demo; prints one `key: value` line per result.
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

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

double milliseconds(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

struct Options {
  std::string private_key_file;
  std::string peer_public_key;
  std::string endpoint;
  uint16_t listen_port = 0;
  std::string tunnel_address;
  std::string ping_target;
  int count = 5;
  int interval_ms = 200;
  int timeout_s = 20;
  bool respond_only = false;
  bool replay_check = false;
};

class Probe final : public wireguard::DeviceOutput {
 public:
  Probe(const Options& options, net::UdpSocket socket, const crypto::PrivateKey& key,
        const crypto::PublicKey& peer_key)
      : options_(options),
        socket_(std::move(socket)),
        batch_(16, net::kMaxDatagramSize),
        device_(key, random_, *this, [] { return std::chrono::system_clock::now(); }) {
    wireguard::PeerConfig config;
    config.public_key = peer_key;
    if (!options.endpoint.empty()) {
      config.endpoint = net::to_peer_address(*net::Endpoint::parse(options.endpoint));
    }
    peer_ = &device_.add_peer(config);
  }

  int run() {
    const auto local = net::IpAddress::parse(options_.tunnel_address);
    if (!local || !local->is_v4()) {
      std::fprintf(stderr, "wgprobe: --tunnel-address must be an IPv4 address\n");
      return 2;
    }
    std::copy(local->bytes().begin(), local->bytes().end(), local_.begin());
    if (!options_.ping_target.empty()) {
      // Kept in a named optional: bytes() is a view into it.
      const auto target = net::IpAddress::parse(options_.ping_target);
      if (!target || !target->is_v4()) {
        std::fprintf(stderr, "wgprobe: --ping must be an IPv4 address\n");
        return 2;
      }
      std::copy(target->bytes().begin(), target->bytes().end(), target_.begin());
    }
    start_ = Clock::now();
    const auto deadline = start_ + std::chrono::seconds(options_.timeout_s);
    int sent = 0;
    auto next_ping = start_;
    while (Clock::now() < deadline) {
      const auto now = Clock::now();
      if (!options_.respond_only && sent < options_.count && now >= next_ping &&
          (sent == 0 || peer_->has_session())) {
        send_ping(uint16_t(sent++), now);
        next_ping = now + std::chrono::milliseconds(options_.interval_ms);
      }
      if (options_.respond_only ? echoes_answered_ >= options_.count
                                : int(rtts_.size()) >= options_.count) {
        break;
      }
      pollfd descriptor{socket_.fd(), POLLIN, 0};
      ::poll(&descriptor, 1, 20);
      receive_all();
      if (device_.next_expiry(*peer_) <= Clock::now()) device_.on_timer(*peer_, Clock::now());
    }
    report();
    if (options_.replay_check) replay_checks();
    const bool ok =
        handshake_done_ && (options_.respond_only ? echoes_answered_ >= options_.count
                                                  : int(rtts_.size()) >= options_.count);
    std::printf("result: %s\n", ok ? "ok" : "failed");
    return ok && replay_ok_ ? 0 : 1;
  }

  void send_datagram(const wireguard::PeerAddress& to,
                     std::span<const uint8_t> datagram) noexcept override {
    auto& slot = batch_[0];
    slot.reset();
    std::copy(datagram.begin(), datagram.end(), slot.data);
    slot.length = uint32_t(datagram.size());
    slot.peer = net::to_endpoint(to);
    socket_.send_batch(batch_, 0, 1);
  }

  void deliver_packet(wireguard::Peer&, std::span<uint8_t> packet) noexcept override {
    const auto echo = parse_echo(packet);
    if (!echo) return;
    if (!echo->is_request && echo->identifier == identifier_) {
      const auto sent = sent_at_.find(echo->sequence);
      if (sent != sent_at_.end() && !rtts_.contains(echo->sequence)) {
        rtts_[echo->sequence] = milliseconds(Clock::now() - sent->second);
        std::printf("echo_reply: seq=%u rtt_ms=%.3f\n", echo->sequence, rtts_[echo->sequence]);
        if (!captured_reply_.empty()) return;
        captured_reply_ = current_datagram_;
      } else if (sent != sent_at_.end()) {
        ++duplicate_replies_;
      }
      return;
    }
    if (echo->is_request && echo->destination == local_) {
      Echo reply = *echo;
      reply.is_request = false;
      std::swap(reply.source, reply.destination);
      std::array<uint8_t, 2048> packet_out;
      const size_t length = write_echo(reply, packet_out);
      send_packet({packet_out.data(), length}, Clock::now());
      ++echoes_answered_;
      std::printf("echo_request_answered: seq=%u\n", echo->sequence);
    }
  }

  void on_peer_event(wireguard::Peer&, wireguard::PeerEvent event) noexcept override {
    if (event == wireguard::PeerEvent::kHandshakeComplete && !handshake_done_) {
      handshake_done_ = true;
      std::printf("handshake: complete_ms=%.3f initiated_by=%s\n",
                  milliseconds(Clock::now() - start_), options_.respond_only ? "peer" : "us");
    }
  }

 private:
  void send_ping(uint16_t sequence, Clock::time_point now) {
    std::array<uint8_t, 56> payload{};
    Echo echo{true, local_, target_, identifier_, sequence, payload};
    std::array<uint8_t, 2048> packet;
    const size_t length = write_echo(echo, packet);
    sent_at_[sequence] = now;
    send_packet({packet.data(), length}, now);
  }

  void send_packet(std::span<const uint8_t> packet, Clock::time_point now) {
    std::vector<uint8_t> out(packet.size() + 64);
    const auto result = device_.encapsulate(*peer_, packet, out, now);
    if (result.length == 0) return;  // staged until the handshake completes
    out.resize(result.length);
    if (captured_request_.empty() && parse_echo(packet) && parse_echo(packet)->is_request) {
      captured_request_ = out;
    }
    send_datagram(peer_->endpoint(), out);
  }

  void receive_all() {
    const auto received = socket_.recv_batch(batch_);
    if (!received) return;
    for (size_t i = 0; i < *received; ++i) {
      auto& slot = batch_[i];
      for (size_t k = 0; k < slot.segment_count(); ++k) {
        const auto segment = slot.segment(k);
        current_datagram_.assign(segment.begin(), segment.end());
        std::vector<uint8_t> work = current_datagram_;
        const auto reason = device_.receive(work, net::to_peer_address(slot.peer), Clock::now());
        if (reason != wireguard::DropReason::kNone) {
          std::printf("dropped: %s\n", wireguard::drop_reason_name(reason));
        }
      }
    }
  }

  void report() {
    if (rtts_.empty()) return;
    double minimum = 1e9, total = 0;
    for (const auto& [sequence, rtt] : rtts_) {
      minimum = std::min(minimum, rtt);
      total += rtt;
    }
    std::printf("ping: received=%zu sent=%zu rtt_min_ms=%.3f rtt_avg_ms=%.3f\n", rtts_.size(),
                sent_at_.size(), minimum, total / double(rtts_.size()));
  }

  // Replays a transport packet to both sides: each must drop it.
  void replay_checks() {
    replay_ok_ = false;
    if (captured_reply_.empty() || captured_request_.empty()) {
      std::printf("replay: nothing captured\n");
      return;
    }
    auto copy = captured_reply_;
    const auto reason = device_.receive(copy, peer_->endpoint(), Clock::now());
    std::printf("replay_to_us: %s\n", wireguard::drop_reason_name(reason));
    const size_t replies_before = rtts_.size() + duplicate_replies_;
    send_datagram(peer_->endpoint(), captured_request_);
    const auto until = Clock::now() + 1500ms;
    while (Clock::now() < until) {
      pollfd descriptor{socket_.fd(), POLLIN, 0};
      ::poll(&descriptor, 1, 50);
      receive_all();
    }
    const bool peer_dropped = rtts_.size() + duplicate_replies_ == replies_before;
    std::printf("replay_to_peer: %s\n", peer_dropped ? "dropped" : "ANSWERED");
    replay_ok_ = reason == wireguard::DropReason::kReplayedCounter && peer_dropped;
  }

  const Options& options_;
  net::UdpSocket socket_;
  net::DatagramBatch batch_;
  net::SystemRandom random_;
  wireguard::Device device_;
  wireguard::Peer* peer_ = nullptr;
  std::array<uint8_t, 4> local_{};
  std::array<uint8_t, 4> target_{};
  uint16_t identifier_ = uint16_t(::getpid());
  Clock::time_point start_;
  bool handshake_done_ = false;
  bool replay_ok_ = true;
  int echoes_answered_ = 0;
  size_t duplicate_replies_ = 0;
  std::map<uint16_t, Clock::time_point> sent_at_;
  std::map<uint16_t, double> rtts_;
  std::vector<uint8_t> current_datagram_, captured_reply_, captured_request_;
};

std::optional<crypto::PrivateKey> read_private_key(const std::string& path) {
  std::ifstream file(path);
  std::string text;
  std::getline(file, text);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  auto bytes = crypto::decode_key(text);
  if (!bytes) return std::nullopt;
  return crypto::PrivateKey::from_bytes(*bytes);
}

}  // namespace
}  // namespace slirpvpn::tools

int main(int argc, char** argv) {
  using namespace slirpvpn;
  tools::Options options;
  CLI::App app{"slirpvpn-wgprobe: the protocol core on a UDP socket against a real WireGuard peer"};
  app.add_option("--private-key-file", options.private_key_file, "our private key (base64)")
      ->required();
  app.add_option("--peer-public-key", options.peer_public_key, "the peer's public key")->required();
  app.add_option("--endpoint", options.endpoint, "the peer's address:port (omit to wait for it)");
  app.add_option("--listen-port", options.listen_port, "our UDP port (0 = any)");
  app.add_option("--tunnel-address", options.tunnel_address, "our IPv4 address inside the tunnel")
      ->required();
  app.add_option("--ping", options.ping_target, "send ICMP echo requests to this tunnel address");
  app.add_option("--count", options.count, "echo requests to send, or to answer");
  app.add_option("--interval-ms", options.interval_ms, "between echo requests");
  app.add_option("--timeout", options.timeout_s, "give up after this many seconds");
  app.add_flag("--respond", options.respond_only, "wait for the peer to initiate; answer echoes");
  app.add_flag("--replay-check", options.replay_check, "replay a transport packet to both sides");
  CLI11_PARSE(app, argc, argv);

  if (!crypto::initialize()) return 2;
  const auto key = tools::read_private_key(options.private_key_file);
  const auto peer_key = crypto::decode_key(options.peer_public_key);
  if (!key || !peer_key) {
    std::fprintf(stderr, "wgprobe: bad private key file or peer public key\n");
    return 2;
  }
  auto socket = net::UdpSocket::open(options.listen_port);
  if (!socket) {
    std::fprintf(stderr, "wgprobe: %s\n", socket.error().message().c_str());
    return 2;
  }
  tools::Probe probe(options, std::move(*socket), *key, crypto::PublicKey{*peer_key});
  return probe.run();
}
