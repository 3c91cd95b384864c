// SPDX-License-Identifier: MIT
// End-to-end check of the built slirpvpn-wanem binary on loopback: a bounded burst through
// 20 ms of delay each way (measured), payloads compared byte for byte, SIGUSR1 rebinding,
// SIGTERM printing the counters.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rng.h"
#include "socket_address.h"

namespace slirpvpn::wanem {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kLength = 1400;
constexpr uint32_t kCount = 300;

int udp_socket(SocketAddress* bound) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto any = *SocketAddress::parse("127.0.0.1:0");
  EXPECT_EQ(bind(fd, any.sockaddr_ptr(), any.length), 0);
  bound->length = sizeof bound->storage;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound->storage), &bound->length);
  timeval timeout{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Datagram `seq`: seq, send time (ns), then bytes only this seq produces.
void fill(std::vector<uint8_t>& d, uint32_t seq, int64_t sent_ns) {
  Rng rng(seq + 1);
  for (auto& b : d) b = uint8_t(rng.next());
  std::memcpy(d.data(), &seq, 4);
  std::memcpy(d.data() + 4, &sent_ns, 8);
}
bool intact(const uint8_t* d, size_t length, uint32_t seq) {
  if (length != kLength) return false;
  std::vector<uint8_t> expected(kLength);
  int64_t sent_ns;
  std::memcpy(&sent_ns, d + 4, 8);
  fill(expected, seq, sent_ns);
  return std::memcmp(expected.data(), d, kLength) == 0;
}

// The relay as a child process, its stderr kept for the stats check.
class WanemProcess {
 public:
  explicit WanemProcess(std::vector<std::string> args) {
    int pipe_fds[2];
    EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], 2);
      std::vector<char*> argv;
      static std::string binary = WANEM_BINARY;
      argv.push_back(binary.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    stderr_fd_ = pipe_fds[0];
  }
  ~WanemProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stderr_fd_);
  }
  // Reads stderr until `needle` appears (5 s at most); returns the text read so far.
  std::string wait_for(const std::string& needle) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
    while (output_.find(needle) == std::string::npos && Clock::now() < deadline) {
      char buffer[4096];
      const ssize_t n = read(stderr_fd_, buffer, sizeof buffer);
      if (n > 0) {
        output_.append(buffer, size_t(n));
      } else if (n == 0) {
        break;
      } else {
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
    return output_;
  }
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  bool reaped_ = false;
  std::string output_;
};

// Echoes every datagram back to its sender and remembers the one-way delays and source ports.
struct Echo {
  SocketAddress address;
  int fd = udp_socket(&address);
  std::atomic<bool> stop{false};
  std::vector<int64_t> one_way_ns;
  std::vector<uint16_t> source_ports;
  std::thread thread{[this] {
    std::vector<uint8_t> d(65536);
    while (!stop) {
      SocketAddress from;
      from.length = sizeof from.storage;
      const ssize_t n = recvfrom(fd, d.data(), d.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from.storage), &from.length);
      if (n < 12) continue;
      int64_t sent_ns;
      std::memcpy(&sent_ns, d.data() + 4, 8);
      one_way_ns.push_back(Clock::now().time_since_epoch().count() - sent_ns);
      source_ports.push_back(from.port());
      sendto(fd, d.data(), size_t(n), 0, from.sockaddr_ptr(), from.length);
    }
  }};
  ~Echo() {
    stop = true;
    thread.join();
    close(fd);
  }
};

uint16_t listen_port(const std::string& log) {
  const std::string key = "listening on 127.0.0.1:";
  const auto at = log.find(key);
  if (at == std::string::npos) return 0;
  return uint16_t(std::stoi(log.substr(at + key.size())));
}

TEST(WanemBinary, BurstThroughTwentyMillisecondsArrivesIntactAndOnTime) {
  Echo echo;
  WanemProcess wanem({"-l", "127.0.0.1:0", "-t", echo.address.to_string(), "--delay", "20",
                      "--seed", "1", "--queue-mb", "8", "--lifetime", "30"});
  const uint16_t port = listen_port(wanem.wait_for("listening on"));
  ASSERT_NE(port, 0);
  auto relay = *SocketAddress::parse("127.0.0.1:" + std::to_string(port));
  SocketAddress client_address;
  const int client = udp_socket(&client_address);

  std::vector<int64_t> rtt_ns;
  size_t bad = 0;
  // Received concurrently: a burst of replies would overflow an idle socket's buffer.
  std::thread receiver([&] {
    std::vector<bool> seen(kCount);
    const auto deadline = Clock::now() + std::chrono::seconds(4);
    std::vector<uint8_t> in(65536);
    while (rtt_ns.size() < kCount && Clock::now() < deadline) {
      const ssize_t n = recv(client, in.data(), in.size(), 0);
      if (n < 12) continue;
      uint32_t seq;
      int64_t sent_ns;
      std::memcpy(&seq, in.data(), 4);
      std::memcpy(&sent_ns, in.data() + 4, 8);
      if (seq >= kCount || seen[seq] || !intact(in.data(), size_t(n), seq)) {
        ++bad;
        continue;
      }
      seen[seq] = true;
      rtt_ns.push_back(Clock::now().time_since_epoch().count() - sent_ns);
    }
  });
  std::vector<uint8_t> d(kLength);
  // Paced (one every 0.5 ms) so socket buffers are not what is measured.
  for (uint32_t seq = 0; seq < kCount; ++seq) {
    fill(d, seq, Clock::now().time_since_epoch().count());
    EXPECT_EQ(sendto(client, d.data(), d.size(), 0, relay.sockaddr_ptr(), relay.length),
              ssize_t(kLength));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  receiver.join();
  close(client);
  EXPECT_EQ(bad, 0u);
  ASSERT_EQ(rtt_ns.size(), kCount) << "datagrams lost without any loss configured";
  std::sort(rtt_ns.begin(), rtt_ns.end());
  // 20 ms each way; release may be up to granularity/2 (100 us) early per direction.
  EXPECT_GE(rtt_ns.front(), 40'000'000 - 200'000);
  EXPECT_LT(rtt_ns[kCount / 2], 45'000'000) << "median RTT";
  const auto one_way = echo.one_way_ns;
  ASSERT_EQ(one_way.size(), kCount);
  EXPECT_GE(*std::min_element(one_way.begin(), one_way.end()), 20'000'000 - 100'000);

  const int status = wanem.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string log = wanem.wait_for("stats dir=down");
  EXPECT_NE(log.find("stats dir=up rx_pkts=300 rx_bytes=420000 tx_pkts=300"), std::string::npos)
      << log;
  EXPECT_NE(log.find("stats dir=down rx_pkts=300 rx_bytes=420000 tx_pkts=300"), std::string::npos)
      << log;
}

TEST(WanemBinary, Sigusr1MovesTheClientToANewSourcePortAndSigusr2PrintsCounters) {
  Echo echo;
  WanemProcess wanem({"-l", "127.0.0.1:0", "-t", echo.address.to_string(), "--lifetime", "30"});
  const uint16_t port = listen_port(wanem.wait_for("listening on"));
  ASSERT_NE(port, 0);
  auto relay = *SocketAddress::parse("127.0.0.1:" + std::to_string(port));
  SocketAddress client_address;
  const int client = udp_socket(&client_address);
  std::vector<uint8_t> d(kLength), in(65536);
  auto round_trip = [&](uint32_t seq) {
    fill(d, seq, Clock::now().time_since_epoch().count());
    sendto(client, d.data(), d.size(), 0, relay.sockaddr_ptr(), relay.length);
    const ssize_t n = recv(client, in.data(), in.size(), 0);
    return n == ssize_t(kLength) && intact(in.data(), size_t(n), seq);
  };
  ASSERT_TRUE(round_trip(1));
  kill(wanem.pid(), SIGUSR1);
  wanem.wait_for("rebound");
  ASSERT_TRUE(round_trip(2));
  close(client);
  kill(wanem.pid(), SIGUSR2);
  const std::string log = wanem.wait_for("stats dir=down");
  EXPECT_NE(log.find("stats (SIGUSR2)"), std::string::npos) << log;
  EXPECT_NE(log.find("stats dir=up rx_pkts=2 "), std::string::npos) << log;
  ASSERT_EQ(echo.source_ports.size(), 2u);
  EXPECT_NE(echo.source_ports[0], echo.source_ports[1]);
  const int status = wanem.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace slirpvpn::wanem
