// SPDX-License-Identifier: MIT
// The responder's cost per handshake initiation with the real Device: consume a type-1 message
// (mac1, es, s, ss cached, timestamp) and create the response (e, ee, se, psk) plus its keypair.
//
// Run: build/release/bench/bench_handshakes [--benchmark_filter=Responder]
// The initiations are made outside the timed region by real initiator Devices, one per
// configured peer, so the responder sees what a server with many peers sees: a different peer
// (hash lookup, new keypair, old one retired) on every message. X25519 alone is measured too,
// so the figure can be read as a count of scalar multiplications: Noise IKpsk2 leaves the
// responder exactly es, ee, se and the ephemeral key (ss is computed once per peer), i.e.
// 3 X25519 + 1 fixed-base X25519, plus ~25 HMAC-BLAKE2s (BM_Kdf2 is three of them).
// (OpenSSL's table-based X25519 public-key derivation was tried for the ephemeral key: with
// the EVP_PKEY round trip it is slower than libsodium's ladder, so it is not used.)
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <chrono>
#include <memory>
#include <vector>

#include "crypto/blake2s.h"
#include "crypto/x25519.h"
#include "net/system_random.h"
#include "wireguard/device.h"

namespace slirpvpn::bench {
namespace {

using namespace std::chrono_literals;

crypto::PrivateKey random_private_key() {
  crypto::Secret<crypto::kKeyLen> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  return crypto::PrivateKey::from_random(bytes.span());
}

// Keeps the last datagram a device sent (an initiation or a response).
struct Capture final : wireguard::DeviceOutput {
  std::array<uint8_t, wireguard::kInitiationSize> last{};
  size_t length = 0;
  uint64_t sent = 0;
  void send_datagram(const wireguard::PeerAddress&,
                     std::span<const uint8_t> datagram) noexcept override {
    length = std::min(datagram.size(), last.size());
    std::copy_n(datagram.begin(), length, last.begin());
    ++sent;
  }
  void deliver_packet(wireguard::Peer&, std::span<uint8_t>) noexcept override {}
};

wireguard::PeerAddress address(uint16_t port) {
  wireguard::PeerAddress out;
  out.family = 4;
  out.address = {198, 51, 100, 2};
  out.port = port;
  return out;
}

// One simulated client: its own device, configured with the server as its only peer.
struct Initiator {
  Capture output;
  net::SystemRandom random;
  std::chrono::system_clock::time_point wall{std::chrono::seconds(1'700'000'000)};
  std::unique_ptr<wireguard::Device> device;
  wireguard::Peer* server = nullptr;

  Initiator(const crypto::PrivateKey& key, const crypto::PublicKey& server_key) {
    // Every initiation needs a later TAI64N timestamp than the previous one from this key.
    device = std::make_unique<wireguard::Device>(key, random, output, [this] {
      wall += 1s;
      return wall;
    });
    wireguard::PeerConfig config;
    config.public_key = server_key;
    config.endpoint = address(51820);
    server = &device->add_peer(config);
  }
};

struct Responder {
  static constexpr size_t kPeers = 1000;
  // Initiations made per refill: enough that refilling (outside the timing) is rare.
  static constexpr size_t kBatch = 2000;

  Capture output;
  net::SystemRandom random;
  crypto::PrivateKey server_key = random_private_key();
  wireguard::Device device{server_key, random, output,
                           [] { return std::chrono::system_clock::now(); }};
  std::vector<std::unique_ptr<Initiator>> initiators;
  std::vector<std::array<uint8_t, wireguard::kInitiationSize>> batch;
  std::vector<uint16_t> ports;
  size_t next = 0;
  wireguard::TimePoint initiator_now{};
  wireguard::TimePoint responder_now{};

  Responder() {
    const crypto::PublicKey server_public = crypto::derive_public_key(server_key);
    for (size_t i = 0; i < kPeers; ++i) {
      const crypto::PrivateKey key = random_private_key();
      wireguard::PeerConfig config;
      config.public_key = crypto::derive_public_key(key);
      device.add_peer(config);
      initiators.push_back(std::make_unique<Initiator>(key, server_public));
    }
    batch.resize(kBatch);
    ports.resize(kBatch);
    refill();
  }

  void refill() {
    // Past REKEY_TIMEOUT, so each initiator may start a new handshake.
    initiator_now += 6s;
    for (size_t i = 0; i < kBatch; ++i) {
      Initiator& initiator = *initiators[i % kPeers];
      if (i >= kPeers && i % kPeers == 0) initiator_now += 6s;
      initiator.device->initiate_handshake(*initiator.server, initiator_now);
      std::copy_n(initiator.output.last.begin(), wireguard::kInitiationSize, batch[i].begin());
      ports[i] = uint16_t(1024 + i % kPeers);
    }
    next = 0;
  }

  // Returns false when the batch is used up (the caller refills outside the timing).
  bool consume_one() {
    if (next == kBatch) return false;
    // 1 ms apart: a peer's initiations are kPeers ms apart, over the 20 ms rate limit.
    responder_now += 1ms;
    const auto reason = device.receive(batch[next], address(ports[next]), responder_now);
    if (reason != wireguard::DropReason::kNone) std::abort();  // the benchmark would lie
    ++next;
    return true;
  }
};

void BM_ResponderHandshake(benchmark::State& state) {
  Responder responder;
  const uint64_t sent_before = responder.output.sent;
  for (auto _ : state) {
    if (!responder.consume_one()) {
      state.PauseTiming();
      responder.refill();
      state.ResumeTiming();
      responder.consume_one();
    }
  }
  if (responder.output.sent - sent_before != uint64_t(state.iterations())) {
    state.SkipWithError("not every initiation was answered");
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["handshakes_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ResponderHandshake)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

void BM_X25519(benchmark::State& state) {
  const crypto::PrivateKey a = random_private_key();
  const crypto::PublicKey b = crypto::derive_public_key(random_private_key());
  crypto::SymmetricKey shared;
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::x25519(shared, a, b));
  }
}
BENCHMARK(BM_X25519)->Unit(benchmark::kMicrosecond);

void BM_X25519Base(benchmark::State& state) {
  const crypto::PrivateKey a = random_private_key();
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::derive_public_key(a));
  }
}
BENCHMARK(BM_X25519Base)->Unit(benchmark::kMicrosecond);

// The handshake's other primitive: one KDF2 step (three HMAC-BLAKE2s) as mix_key runs it.
void BM_Kdf2(benchmark::State& state) {
  crypto::SymmetricKey chaining_key, key;
  std::array<uint8_t, 32> input{};
  crypto::SymmetricKey* outputs[] = {&chaining_key, &key};
  for (auto _ : state) {
    crypto::kdf(outputs, chaining_key.span(), input);
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_Kdf2)->Unit(benchmark::kMicrosecond);

void BM_Blake2sHash(benchmark::State& state) {
  std::array<uint8_t, 32> hash{}, input{};
  for (auto _ : state) {
    crypto::blake2s_hash(hash, {hash, input});
    benchmark::DoNotOptimize(hash.data());
  }
}
BENCHMARK(BM_Blake2sHash)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace slirpvpn::bench

int main(int argc, char** argv) {
  if (!slirpvpn::crypto::initialize()) return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
