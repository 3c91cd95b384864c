// SPDX-License-Identifier: MIT
// The cost of sealing and opening one transport packet: our aead_encrypt/aead_decrypt (sealing
// through OpenSSL's EVP ChaCha20-Poly1305 from kOpenSslSealFrom bytes, libsodium below it and
// for all opening) beside libsodium's crypto_aead_chacha20poly1305_ietf_* alone, from a
// keepalive to a full 1420-byte packet: the sizes on either side of the switch show why it is
// where it is.
//
// Run: build/release/bench/bench_aead
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdint>
#include <vector>

#include "crypto/aead.h"
#include "crypto/x25519.h"

namespace slirpvpn::bench {
namespace {

crypto::SymmetricKey random_key() {
  crypto::SymmetricKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

void BM_SealOurs(benchmark::State& state) {
  const size_t size = size_t(state.range(0));
  const crypto::SymmetricKey key = random_key();
  std::vector<uint8_t> packet(size + crypto::kAeadTagLen, 0x5a);
  uint64_t counter = 0;
  for (auto _ : state) {
    crypto::aead_encrypt(packet, std::span(packet).first(size), counter++, {}, key);
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

void BM_OpenOurs(benchmark::State& state) {
  const size_t size = size_t(state.range(0));
  const crypto::SymmetricKey key = random_key();
  std::vector<uint8_t> sealed(size + crypto::kAeadTagLen);
  crypto::aead_encrypt(sealed, std::vector<uint8_t>(size, 0x5a), 7, {}, key);
  std::vector<uint8_t> plain(size);
  for (auto _ : state) {
    if (!crypto::aead_decrypt(plain, sealed, 7, {}, key)) state.SkipWithError("tag rejected");
    benchmark::DoNotOptimize(plain.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

void BM_SealLibsodium(benchmark::State& state) {
  const size_t size = size_t(state.range(0));
  const crypto::SymmetricKey key = random_key();
  std::vector<uint8_t> packet(size + crypto::kAeadTagLen, 0x5a);
  std::array<uint8_t, 12> nonce{};
  for (auto _ : state) {
    ++nonce[4];
    crypto_aead_chacha20poly1305_ietf_encrypt(packet.data(), nullptr, packet.data(), size, nullptr,
                                              0, nullptr, nonce.data(), key.data());
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

void BM_OpenLibsodium(benchmark::State& state) {
  const size_t size = size_t(state.range(0));
  const crypto::SymmetricKey key = random_key();
  std::vector<uint8_t> sealed(size + crypto::kAeadTagLen);
  const std::array<uint8_t, 12> nonce{};
  crypto_aead_chacha20poly1305_ietf_encrypt(sealed.data(), nullptr,
                                            std::vector<uint8_t>(size, 0x5a).data(), size, nullptr,
                                            0, nullptr, nonce.data(), key.data());
  std::vector<uint8_t> plain(size);
  for (auto _ : state) {
    if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), nullptr, nullptr, sealed.data(),
                                                  sealed.size(), nullptr, 0, nonce.data(),
                                                  key.data()) != 0) {
      state.SkipWithError("tag rejected");
    }
    benchmark::DoNotOptimize(plain.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

BENCHMARK(BM_SealOurs)->Arg(0)->Arg(64)->Arg(512)->Arg(1024)->Arg(1420);
BENCHMARK(BM_SealLibsodium)->Arg(0)->Arg(64)->Arg(512)->Arg(1024)->Arg(1420);
BENCHMARK(BM_OpenOurs)->Arg(0)->Arg(64)->Arg(512)->Arg(1024)->Arg(1420);
BENCHMARK(BM_OpenLibsodium)->Arg(0)->Arg(64)->Arg(512)->Arg(1024)->Arg(1420);

}  // namespace
}  // namespace slirpvpn::bench

int main(int argc, char** argv) {
  if (!slirpvpn::crypto::initialize()) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
