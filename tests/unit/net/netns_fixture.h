// SPDX-License-Identifier: MIT
// Test helper: run a test inside a fresh, empty network namespace so it never touches the host.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <array>
#include <string>

namespace slirpvpn::net::testing {

// Moves the calling thread into a new network namespace (unshare(CLONE_NEWNET)) for the test's
// lifetime and back afterwards; the namespace disappears with its last user (our sockets and
// TUN devices, closed by the test). Processes started with run() inherit it. Needs root: tests
// skip otherwise.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) for a netns";
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_, 0);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
  }
  void TearDown() override {
    if (original_ >= 0) {
      EXPECT_EQ(::setns(original_, CLONE_NEWNET), 0);
      ::close(original_);
    }
  }

  // Runs a shell command in the test's namespace and returns its standard output.
  static std::string run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return output;
    std::array<char, 4096> chunk;
    size_t count;
    while ((count = ::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
      output.append(chunk.data(), count);
    ::pclose(pipe);
    return output;
  }

 private:
  int original_ = -1;
};

}  // namespace slirpvpn::net::testing
