// SPDX-License-Identifier: MIT
// TunDevice in a fresh network namespace: the kernel answers ICMP echo written into the TUN.
#include "net/tun_device.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "common/endian.h"
#include "net/netlink.h"
#include "net/netns_fixture.h"

namespace slirpvpn::net {
namespace {

using testing::NetnsTest;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

uint16_t checksum(std::span<const uint8_t> bytes, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) sum += load_be16(&bytes[i]);
  if (bytes.size() % 2) sum += uint32_t(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

const char kPayload[] = "slirpvpn-echo";

// IPv4 + ICMP echo request from `source` to `destination`.
std::vector<uint8_t> echo_request_v4(const IpAddress& source, const IpAddress& destination,
                                     uint16_t sequence) {
  const size_t icmp_size = 8 + sizeof kPayload;
  std::vector<uint8_t> packet(20 + icmp_size);
  packet[0] = 0x45;
  store_be16(&packet[2], static_cast<uint16_t>(packet.size()));
  packet[8] = 64;  // TTL
  packet[9] = 1;   // ICMP
  std::memcpy(&packet[12], source.bytes().data(), 4);
  std::memcpy(&packet[16], destination.bytes().data(), 4);
  store_be16(&packet[10], checksum({packet.data(), 20}));
  uint8_t* icmp = &packet[20];
  icmp[0] = 8;  // echo request
  store_be16(icmp + 4, 0x5176);
  store_be16(icmp + 6, sequence);
  std::memcpy(icmp + 8, kPayload, sizeof kPayload);
  store_be16(icmp + 2, checksum({icmp, icmp_size}));
  return packet;
}

// IPv6 + ICMPv6 echo request (checksum over the pseudo-header, RFC 4443 §2.3).
std::vector<uint8_t> echo_request_v6(const IpAddress& source, const IpAddress& destination,
                                     uint16_t sequence) {
  const size_t icmp_size = 8 + sizeof kPayload;
  std::vector<uint8_t> packet(40 + icmp_size);
  packet[0] = 0x60;
  store_be16(&packet[4], static_cast<uint16_t>(icmp_size));
  packet[6] = 58;  // ICMPv6
  packet[7] = 64;
  std::memcpy(&packet[8], source.bytes().data(), 16);
  std::memcpy(&packet[24], destination.bytes().data(), 16);
  uint8_t* icmp = &packet[40];
  icmp[0] = 128;  // echo request
  store_be16(icmp + 4, 0x5176);
  store_be16(icmp + 6, sequence);
  std::memcpy(icmp + 8, kPayload, sizeof kPayload);
  uint32_t sum = 0;
  for (size_t i = 8; i < 40; i += 2) sum += load_be16(&packet[i]);
  sum += static_cast<uint32_t>(icmp_size) + 58;
  store_be16(icmp + 2, checksum({icmp, icmp_size}, sum));
  return packet;
}

// True for the kernel's echo reply to echo_request_*(source, destination, sequence).
bool is_echo_reply(std::span<const uint8_t> packet, const IpAddress& from, const IpAddress& to,
                   uint16_t sequence) {
  const bool v4 = from.is_v4();
  const size_t header = v4 ? 20 : 40;
  if (packet.size() != header + 8 + sizeof kPayload) return false;
  if ((packet[0] >> 4) != (v4 ? 4 : 6)) return false;
  const size_t address_size = v4 ? 4 : 16;
  const size_t source_at = v4 ? 12 : 8;
  if (std::memcmp(&packet[source_at], from.bytes().data(), address_size) != 0) return false;
  if (std::memcmp(&packet[source_at + address_size], to.bytes().data(), address_size) != 0) {
    return false;
  }
  const uint8_t* icmp = &packet[header];
  return icmp[0] == (v4 ? 0 : 129) && load_be16(icmp + 4) == 0x5176 &&
         load_be16(icmp + 6) == sequence && std::memcmp(icmp + 8, kPayload, sizeof kPayload) == 0;
}

bool wait_readable(int fd, int milliseconds) {
  pollfd descriptor{fd, POLLIN, 0};
  return ::poll(&descriptor, 1, milliseconds) == 1;
}

class TunDeviceTest : public NetnsTest {
 protected:
  // A TUN named `name`, MTU 1420, 198.51.100.1/24 and fec0::1/64, up; lo up.
  TunDevice make_tun(const char* name) {
    auto tun = TunDevice::open(name);
    EXPECT_TRUE(tun) << tun.error().message();
    auto netlink = Netlink::open();
    EXPECT_TRUE(netlink);
    auto index = netlink->link_index(tun->name());
    EXPECT_TRUE(index) << index.error().message();
    EXPECT_TRUE(netlink->set_mtu(*index, 1420));
    EXPECT_TRUE(netlink->add_address(*index, *InterfaceAddress::parse("198.51.100.1/24")));
    EXPECT_TRUE(netlink->add_address(*index, *InterfaceAddress::parse("fec0::1/64")));
    EXPECT_TRUE(netlink->set_link_up(*index, true));
    // IPv6 delivers to local addresses through lo's local routes: a fresh namespace has lo down.
    EXPECT_TRUE(netlink->set_link_up(1, true));
    return std::move(*tun);
  }

  // Writes `request` and reads until its echo reply arrives or 5 s pass; other packets (IPv6
  // router solicitations, MLD reports) are skipped. The request is written again every 250 ms,
  // as ping does: IPv6 answers only once the link watcher has marked the TUN operational and
  // addrconf has finished with the address, which a loaded machine can delay past a second.
  static bool echo_answered(TunDevice& tun, const std::vector<uint8_t>& request,
                            const IpAddress& from, const IpAddress& to, uint16_t sequence) {
    std::vector<uint8_t> buffer(2048);
    const auto start = std::chrono::steady_clock::now();
    auto next_write = start;
    while (std::chrono::steady_clock::now() < start + std::chrono::seconds(5)) {
      if (std::chrono::steady_clock::now() >= next_write) {
        auto written = tun.write(request);
        EXPECT_TRUE(written) << written.error().message();
        if (!written) return false;
        EXPECT_TRUE(*written);
        next_write += std::chrono::milliseconds(250);
      }
      if (!wait_readable(tun.fd(), 50)) continue;
      auto length = tun.read(buffer);
      EXPECT_TRUE(length) << length.error().message();
      if (!length) return false;
      if (*length && is_echo_reply({buffer.data(), *length}, from, to, sequence)) return true;
    }
    return false;
  }
};

TEST_F(TunDeviceTest, KernelAnswersIcmpEchoWrittenIntoTheTun) {
  TunDevice tun = make_tun("svtun0");
  EXPECT_EQ(tun.name(), "svtun0");
  const auto request = echo_request_v4(ip("198.51.100.2"), ip("198.51.100.1"), 1);
  EXPECT_TRUE(echo_answered(tun, request, ip("198.51.100.1"), ip("198.51.100.2"), 1));
}

TEST_F(TunDeviceTest, KernelAnswersIcmpv6EchoWrittenIntoTheTun) {
  TunDevice tun = make_tun("svtun6");
  const auto request = echo_request_v6(ip("fec0::2"), ip("fec0::1"), 7);
  EXPECT_TRUE(echo_answered(tun, request, ip("fec0::1"), ip("fec0::2"), 7));
}

TEST_F(TunDeviceTest, ReadBatchCollectsSeveralRepliesAndStopsWhenEmpty) {
  TunDevice tun = make_tun("svtunb");
  for (uint16_t sequence = 1; sequence <= 5; ++sequence) {
    ASSERT_TRUE(tun.write(echo_request_v4(ip("198.51.100.2"), ip("198.51.100.1"), sequence)));
  }
  PacketBatch batch(16, 2048);
  std::vector<bool> seen(6, false);
  size_t replies = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (replies < 5 && std::chrono::steady_clock::now() < deadline) {
    wait_readable(tun.fd(), 100);
    auto count = tun.read_batch(batch, batch.slots());
    ASSERT_TRUE(count) << count.error().message();
    for (size_t i = 0; i < *count; ++i) {
      for (uint16_t sequence = 1; sequence <= 5; ++sequence) {
        if (!seen[sequence] &&
            is_echo_reply(batch.packet(i), ip("198.51.100.1"), ip("198.51.100.2"), sequence)) {
          seen[sequence] = true;
          ++replies;
        }
      }
    }
  }
  EXPECT_EQ(replies, 5u);
  // Nothing left: an empty read is an outcome, not an error.
  auto empty = tun.read_batch(batch, 4);
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, 0u);
}

TEST_F(TunDeviceTest, KernelPicksANameWhenNoneIsGiven) {
  auto tun = TunDevice::open("");
  ASSERT_TRUE(tun) << tun.error().message();
  EXPECT_EQ(tun->name().rfind("tun", 0), 0u) << tun->name();
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  EXPECT_TRUE(netlink->link_index(tun->name()));
}

TEST_F(TunDeviceTest, DeviceDisappearsWhenClosed) {
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  {
    auto tun = TunDevice::open("svgone");
    ASSERT_TRUE(tun) << tun.error().message();
    EXPECT_TRUE(netlink->link_index("svgone"));
  }
  auto index = netlink->link_index("svgone");
  ASSERT_FALSE(index);
  EXPECT_EQ(index.error().error_number, ENODEV);
}

TEST_F(TunDeviceTest, MalformedPacketIsRefused) {
  TunDevice tun = make_tun("svtunm");
  const uint8_t garbage[] = {0x00, 0x01, 0x02};
  auto written = tun.write(garbage);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().error_number, EINVAL);
}

TEST(TunDevice, NameTooLongIsAnError) {
  auto tun = TunDevice::open("a-very-long-tun-name");
  ASSERT_FALSE(tun);
  EXPECT_NE(tun.error().message().find("15 characters"), std::string::npos);
}

TEST(TunDevice, MissingCapabilitySaysWhichAndHow) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to an unprivileged user";
  // An unprivileged child (nobody) has no CAP_NET_ADMIN; it reports by exit status.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(2);
    auto tun = TunDevice::open("svnocap");
    if (tun) _exit(3);
    const std::string message = tun.error().message();
    const bool good = tun.error().error_number == EPERM &&
                      message.find("CAP_NET_ADMIN") != std::string::npos &&
                      message.find("setcap cap_net_admin+ep") != std::string::npos;
    _exit(good ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace slirpvpn::net
