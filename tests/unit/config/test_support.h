// SPDX-License-Identifier: MIT
// Shared helpers for the config tests: fixed keys, a scratch directory, error expectations.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_error.h"
#include "crypto/x25519.h"

namespace slirpvpn::config::testing {

// A deterministic key pair per seed byte, so tests need no RNG.
inline crypto::PrivateKey test_private_key(uint8_t seed) {
  std::array<uint8_t, 32> random{};
  random.fill(seed);
  return crypto::PrivateKey::from_random(random);
}
inline std::string private_text(uint8_t seed) {
  return crypto::encode_key(test_private_key(seed).span());
}
inline std::string public_text(uint8_t seed) {
  EXPECT_TRUE(crypto::initialize());
  return crypto::encode_key(crypto::derive_public_key(test_private_key(seed)).bytes);
}
inline crypto::PublicKey public_key(uint8_t seed) {
  return crypto::derive_public_key(test_private_key(seed));
}

// A directory that is removed with everything in it when the object dies.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    char pattern[] = "/tmp/slirpvpn-config-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/tmp";
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  // Writes `content` to `name` with `mode` and returns the full path.
  std::string write(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string full = path_ + "/" + name;
    {
      std::ofstream out(full, std::ios::binary | std::ios::trunc);
      out << content;
    }
    EXPECT_EQ(::chmod(full.c_str(), mode), 0);
    return full;
  }

 private:
  std::string path_;
};

// Checks an error: its line, its "file:line: " prefix, and a fragment of the message.
template <typename T>
void expect_error(const ConfigExpected<T>& result, const std::string& file, int line,
                  const std::string& fragment) {
  ASSERT_FALSE(result) << "expected an error containing: " << fragment;
  EXPECT_EQ(result.error().file, file);
  EXPECT_EQ(result.error().line, line) << result.error().to_string();
  const std::string prefix = line > 0 ? file + ":" + std::to_string(line) + ": " : file + ": ";
  EXPECT_THAT(result.error().to_string(), ::testing::StartsWith(prefix));
  EXPECT_THAT(result.error().message, ::testing::HasSubstr(fragment));
}

}  // namespace slirpvpn::config::testing
