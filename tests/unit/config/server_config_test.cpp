// SPDX-License-Identifier: MIT
// Tests for the server configuration: every key, its default, and every error with its line.
#include "config/server_config.h"

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using testing::expect_error;
using ::testing::HasSubstr;
using testing::private_text;
using testing::public_text;
using testing::ScratchDirectory;

constexpr const char* kFile = "server.conf";

net::IpAddress ip(std::string_view text) {
  return *net::IpAddress::parse(text);
}
net::IpPrefix prefix(std::string_view text) {
  return *net::IpPrefix::parse(text);
}

// [Interface] on line 1, its PrivateKey on line 2; `more` starts at line 3.
std::string server_text(const std::string& more) {
  return "[Interface]\nPrivateKey = " + private_text(1) + "\n" + more;
}

ConfigExpected<ServerConfig> parse(const std::string& more) {
  return parse_server_config(server_text(more), kFile);
}

TEST(ServerConfigTest, MinimalFileHasDocumentedDefaults) {
  const auto config = parse("");
  ASSERT_TRUE(config) << config.error().to_string();
  const auto& i = config->interface;
  EXPECT_EQ(config->file, kFile);
  EXPECT_EQ(crypto::encode_key(i.private_key.span()), private_text(1));
  EXPECT_EQ(i.listen_port, 51820);
  EXPECT_EQ(i.address_v4->to_string(), "10.0.2.2/24");
  EXPECT_EQ(i.address_v6->to_string(), "fec0::2/64");
  EXPECT_EQ(i.network_v4(), prefix("10.0.2.0/24"));
  EXPECT_EQ(i.network_v6(), prefix("fec0::/64"));
  EXPECT_EQ(i.dns_v4, ip("10.0.2.3"));
  EXPECT_EQ(i.dns_v6, ip("fec0::3"));
  EXPECT_EQ(i.mtu, 1420u);
  EXPECT_TRUE(i.ipv6);
  EXPECT_FALSE(i.host_loopback);
  EXPECT_TRUE(i.deny_destinations.empty());
  EXPECT_TRUE(i.allow_destinations.empty());
  EXPECT_EQ(i.log_level, LogLevel::kInfo);
  EXPECT_EQ(i.session_idle_timeout, std::chrono::seconds(300));
  EXPECT_EQ(i.flow_limits, FlowLimitSettings{});  // unset: slirp::FlowLimits' defaults
  EXPECT_EQ(i.fd_reserve, 64u);
  EXPECT_TRUE(config->peers.empty());
  EXPECT_TRUE(config->warnings.empty());
}

TEST(ServerConfigTest, EveryInterfaceKey) {
  const auto config = parse(
      "ListenPort = 51000\n"
      "Address = 10.9.0.1/16, fd00::1/64\n"
      "DNS = 10.9.0.53\n"
      "DNS = fd00::53\n"
      "MTU = 1280\n"
      "IPv6 = yes\n"
      "HostLoopback = on\n"
      "DenyDestinations = 169.254.169.254/32, tcp:0.0.0.0/0:25\n"
      "DenyDestinations = [2001:db8::/32]:443\n"
      "AllowDestinations = 10.9.0.0/16:1000-2000\n"
      "LogLevel = debug\n"
      "SessionIdleTimeout = 30\n"
      "SlirpMTU = 9000\n");
  ASSERT_TRUE(config) << config.error().to_string();
  const auto& i = config->interface;
  EXPECT_EQ(i.slirp_mtu, 9000u);
  EXPECT_EQ(i.session_idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(i.listen_port, 51000);
  EXPECT_EQ(i.address_v4->to_string(), "10.9.0.1/16");
  EXPECT_EQ(i.address_v6->to_string(), "fd00::1/64");
  EXPECT_EQ(i.dns_v4, ip("10.9.0.53"));
  EXPECT_EQ(i.dns_v6, ip("fd00::53"));
  EXPECT_EQ(i.mtu, 1280u);
  EXPECT_TRUE(i.ipv6);
  EXPECT_TRUE(i.host_loopback);
  ASSERT_EQ(i.deny_destinations.size(), 3u);
  EXPECT_EQ(i.deny_destinations[0].to_string(), "169.254.169.254/32");
  EXPECT_EQ(i.deny_destinations[1].to_string(), "tcp:0.0.0.0/0:25");
  EXPECT_EQ(i.deny_destinations[2].to_string(), "[2001:db8::/32]:443");
  ASSERT_EQ(i.allow_destinations.size(), 1u);
  EXPECT_EQ(i.allow_destinations[0].to_string(), "10.9.0.0/16:1000-2000");
  EXPECT_EQ(i.log_level, LogLevel::kDebug);
}

TEST(ServerConfigTest, FlowLimitsOnInterfaceAndPeer) {
  const auto config = parse(
      "MaxTcpFlows = 100\n"
      "MaxUdpFlows = unlimited\n"
      "MaxHostSockets = 150\n"
      "MaxNewFlowsPerSecond = 0\n"
      "RateLimit = 100M\n"
      "FdReserve = 128\n"
      "[Peer]\nPublicKey = " +
      public_text(2) +
      "\nMaxTcpFlows = 7\nMaxNewFlowsPerSecond = 50\nRateLimit = 2500k\n"
      "[Peer]\nPublicKey = " +
      public_text(3) + "\n");
  ASSERT_TRUE(config) << config.error().to_string();
  const auto& shared = config->interface.flow_limits;
  EXPECT_EQ(shared.max_tcp_flows, 100u);
  EXPECT_EQ(shared.max_udp_flows, 0u);
  EXPECT_EQ(shared.max_host_sockets, 150u);
  EXPECT_EQ(shared.max_new_flows_per_second, 0u);
  EXPECT_EQ(shared.rate_limit, 100'000'000u);
  EXPECT_EQ(config->interface.fd_reserve, 128u);
  ASSERT_EQ(config->peers.size(), 2u);
  const auto& own = config->peers[0].flow_limits;
  EXPECT_EQ(own.max_tcp_flows, 7u);
  EXPECT_EQ(own.max_udp_flows, std::nullopt);
  EXPECT_EQ(own.max_host_sockets, std::nullopt);
  EXPECT_EQ(own.max_new_flows_per_second, 50u);
  EXPECT_EQ(own.rate_limit, 2'500'000u);
  EXPECT_EQ(config->peers[1].flow_limits, FlowLimitSettings{});
}

TEST(ServerConfigTest, SessionIdleTimeoutOffMeansNever) {
  for (const char* text : {"0", "off", "Never"}) {
    SCOPED_TRACE(text);
    const auto config = parse(std::string("SessionIdleTimeout = ") + text + "\n");
    ASSERT_TRUE(config) << config.error().to_string();
    EXPECT_EQ(config->interface.session_idle_timeout, std::chrono::seconds(0));
  }
}

TEST(ServerConfigTest, KeysAndSectionsAreCaseInsensitive) {
  const auto config =
      parse_server_config("[interface]\nprivatekey = " + private_text(1) +
                              "\nlistenport = 1\n[PEER]\npublickey = " + public_text(2) + "\n",
                          kFile);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->interface.listen_port, 1);
  EXPECT_EQ(config->peers.size(), 1u);
}

TEST(ServerConfigTest, DefaultsFollowTheNetwork) {
  const auto config = parse("Address = 10.9.0.1/24\n[Peer]\nPublicKey = " + public_text(2) + "\n");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->interface.dns_v4, ip("10.9.0.3"));
  EXPECT_EQ(config->interface.address_v6->to_string(), "fec0::2/64");  // per-family default
  ASSERT_EQ(config->peers.size(), 1u);
  EXPECT_EQ(config->peers[0].allowed_ips,
            (std::vector<net::IpPrefix>{prefix("10.9.0.15/32"), prefix("fec0::15/128")}));
}

TEST(ServerConfigTest, Ipv6Off) {
  const auto config = parse("IPv6 = false\n[Peer]\nPublicKey = " + public_text(2) + "\n");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_FALSE(config->interface.ipv6);
  EXPECT_FALSE(config->interface.address_v6);
  EXPECT_FALSE(config->interface.dns_v6);
  EXPECT_FALSE(config->interface.network_v6());
  EXPECT_EQ(config->peers[0].allowed_ips, (std::vector<net::IpPrefix>{prefix("10.0.2.15/32")}));
  expect_error(parse("IPv6 = false\nAddress = fec0::2/64\n"), kFile, 4,
               "Address: 'fec0::2/64' is IPv6 but IPv6 = false");
  expect_error(parse("IPv6 = 0\nDNS = fec0::3\n"), kFile, 4, "DNS: 'fec0::3' is IPv6");
  expect_error(
      parse("IPv6 = off\n[Peer]\nPublicKey = " + public_text(2) + "\nAllowedIPs = fec0::15/128\n"),
      kFile, 6, "AllowedIPs: 'fec0::15/128' is IPv6 but IPv6 = false");
}

TEST(ServerConfigTest, EveryPeerKey) {
  ScratchDirectory dir;
  const std::string psk = private_text(50);
  dir.write("peer2.psk", psk + "\n", 0600);
  const std::string text = server_text(
      "[Peer]\n"         // 3
      "Name = laptop\n"  // 4
      "PublicKey = " +
      public_text(2) +
      "\n"  // 5
      "PresharedKey = " +
      psk +
      "\n"                                        // 6
      "AllowedIPs = 10.0.2.15/32\n"               // 7
      "AllowedIPs = fec0::15/128\n"               // 8
      "Endpoint = [2001:db8::7]:51820\n"          // 9
      "PersistentKeepalive = 25\n"                // 10
      "MTU = 1280\n"                              // 11
      "ForwardPort = tcp:8080:80, udp:5353:53\n"  // 12
      "ForwardPort = tcp:203.0.113.1:2222:22\n"   // 13
      "\n"                                        // 14
      "[Peer]\n"                                  // 15
      "PublicKey = " +
      public_text(3) +
      "\n"                              // 16
      "PresharedKeyFile = peer2.psk\n"  // 17
      "AllowedIPs = 10.0.2.15/32\n"     // 18  overlapping: allowed
      "Endpoint = vpn.example.com:1\n"  // 19
      "PersistentKeepalive = off\n");   // 20
  const auto config = parse_server_config(text, dir.path() + "/server.conf");
  ASSERT_TRUE(config) << config.error().to_string();
  ASSERT_EQ(config->peers.size(), 2u);
  const auto& a = config->peers[0];
  EXPECT_EQ(a.line, 3);
  EXPECT_EQ(a.name, "laptop");
  EXPECT_EQ(a.public_key, testing::public_key(2));
  EXPECT_TRUE(a.has_preshared_key);
  EXPECT_EQ(crypto::encode_key(a.preshared_key.span()), psk);
  EXPECT_EQ(a.allowed_ips,
            (std::vector<net::IpPrefix>{prefix("10.0.2.15/32"), prefix("fec0::15/128")}));
  EXPECT_EQ(a.endpoint, (net::HostPort{"2001:db8::7", 51820}));
  EXPECT_EQ(a.persistent_keepalive, std::chrono::seconds(25));
  EXPECT_EQ(a.mtu, 1280u);
  ASSERT_EQ(a.forward_ports.size(), 3u);
  EXPECT_EQ(a.forward_ports[0].to_string(), "tcp:8080:80");
  EXPECT_EQ(a.forward_ports[1].to_string(), "udp:5353:53");
  EXPECT_EQ(a.forward_ports[2].to_string(), "tcp:203.0.113.1:2222:22");
  const auto& b = config->peers[1];
  EXPECT_EQ(b.line, 15);
  EXPECT_EQ(b.name, "");
  EXPECT_TRUE(b.has_preshared_key);
  EXPECT_EQ(crypto::encode_key(b.preshared_key.span()), psk);
  EXPECT_EQ(b.allowed_ips, (std::vector<net::IpPrefix>{prefix("10.0.2.15/32")}));
  EXPECT_EQ(b.endpoint, (net::HostPort{"vpn.example.com", 1}));
  EXPECT_EQ(b.persistent_keepalive, std::chrono::seconds(0));
  EXPECT_FALSE(b.mtu);
  EXPECT_TRUE(b.forward_ports.empty());
}

TEST(ServerConfigTest, PeerWithoutOptionalKeys) {
  const auto config = parse("[Peer]\nPublicKey = " + public_text(2) + "\n");
  ASSERT_TRUE(config);
  const auto& p = config->peers[0];
  EXPECT_FALSE(p.has_preshared_key);
  EXPECT_TRUE(p.preshared_key.is_zero());
  EXPECT_FALSE(p.endpoint);
  EXPECT_EQ(p.persistent_keepalive, std::chrono::seconds(0));
  EXPECT_FALSE(p.mtu);
}

TEST(ServerConfigTest, PrivateKeyFile) {
  ScratchDirectory dir;
  dir.write("server.key", private_text(7) + "\n", 0600);
  const std::string conf = dir.path() + "/server.conf";
  const auto config = parse_server_config("[Interface]\nPrivateKeyFile = server.key\n", conf);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(crypto::encode_key(config->interface.private_key.span()), private_text(7));

  dir.write("loose.key", private_text(7) + "\n", 0644);
  const auto loose = parse_server_config("[Interface]\n# c\nPrivateKeyFile = loose.key\n", conf);
  expect_error(loose, conf, 3,
               "PrivateKeyFile: key file '" + dir.path() + "/loose.key' is world accessible");
  EXPECT_THAT(loose.error().message, HasSubstr("chmod 600"));

  dir.write("loose.psk", private_text(8) + "\n", 0660);
  expect_error(
      parse_server_config("[Interface]\nPrivateKeyFile = server.key\n[Peer]\nPublicKey = " +
                              public_text(2) + "\nPresharedKeyFile = loose.psk\n",
                          conf),
      conf, 5, "PresharedKeyFile: key file");
  expect_error(parse_server_config("[Interface]\nPrivateKeyFile = nothere.key\n", conf), conf, 2,
               "PrivateKeyFile: cannot open");
}

TEST(ServerConfigTest, SectionErrors) {
  expect_error(parse_server_config("", kFile), kFile, 0, "no [Interface] section");
  expect_error(parse_server_config("[Peer]\nPublicKey = " + public_text(2) + "\n", kFile), kFile, 0,
               "no [Interface] section");
  expect_error(parse("[Interface]\n"), kFile, 3, "a second [Interface] (the first is at line 1)");
  expect_error(parse("[Server]\n"), kFile, 3, "unknown section [Server]");
  expect_error(parse_server_config("[Interface]\nListenPort = 1\n", kFile), kFile, 1,
               "[Interface] needs PrivateKey or PrivateKeyFile");
  expect_error(parse("[Peer]\nAllowedIPs = 10.0.2.15/32\n"), kFile, 3, "[Peer] needs a PublicKey");
  expect_error(parse("Foo = 1\n"), kFile, 3, "unknown key 'Foo' in [Interface]");
  expect_error(parse("[Peer]\nPublicKey = " + public_text(2) + "\nBar = 1\n"), kFile, 5,
               "unknown key 'Bar' in [Peer]");
  expect_error(parse("PostUp = iptables -A\n"), kFile, 3, "PostUp is not supported by slirpvpn");
  expect_error(parse("SaveConfig = true\n"), kFile, 3, "SaveConfig is not supported by slirpvpn");
  expect_error(parse("MTU = 1400\nMTU = 1400\n"), kFile, 4, "duplicate key 'MTU'");
  expect_error(parse("PrivateKey = " + private_text(1) + "\n"), kFile, 3,
               "duplicate key 'PrivateKey'");
}

TEST(ServerConfigTest, InterfaceValueErrors) {
  struct Row {
    std::string line;
    std::string fragment;
  };
  const Row rows[] = {
      /*  0 */ {"ListenPort = 0", "ListenPort: '0' is not a port"},
      /*  1 */ {"ListenPort = 65536", "ListenPort: '65536' is not a port"},
      /*  2 */ {"Address = 10.0.2.300/24", "Address: '10.0.2.300/24' is not an IP address"},
      /*  3 */ {"Address = 10.0.2.2/24, 10.0.3.2/24", "Address: '10.0.3.2/24' is a second"},
      /*  4 */ {"Address = 10.0.2.2/28", "Address: '10.0.2.2/28' needs a network length"},
      /*  5 */ {"Address = 10.0.2.2/0", "needs a network length"},
      /*  6 */ {"Address = fec0::2/121", "Address: 'fec0::2/121' needs a network length"},
      /*  7 */ {"Address = 10.0.2.0/24", "Address: '10.0.2.0/24' is the network's own"},
      /*  8 */ {"Address = 10.0.2.255/24", "or broadcast address"},
      /*  9 */ {"Address = fec0::/64", "Address: 'fec0::/64' is the network's own"},
      /* 10 */ {"Address =", "Address: the value is empty"},
      /* 11 */ {"DNS = 10.0.3.3", "DNS: '10.0.3.3' is outside the virtual network 10.0.2.0/24"},
      /* 12 */ {"DNS = 10.0.2.2", "DNS: '10.0.2.2' must be a host of its own"},
      /* 13 */ {"DNS = 10.0.2.3, 10.0.2.4", "DNS: '10.0.2.4' is a second DNS address"},
      /* 14 */ {"DNS = dns.example.com", "DNS: 'dns.example.com' is not an IP address"},
      /* 15 */ {"DNS = fec1::3", "DNS: 'fec1::3' is outside the virtual network fec0::/64"},
      /* 16 */ {"MTU = 1279", "MTU: '1279' is out of range (1280..65535)"},
      /* 17 */ {"MTU = 65536", "MTU: '65536' is out of range"},
      /* 18 */ {"MTU = big", "MTU: 'big' is not a number"},
      /* 19 */ {"IPv6 = maybe", "IPv6: 'maybe' is not a boolean"},
      /* 20 */ {"HostLoopback = 2", "HostLoopback: '2' is not a boolean"},
      /* 21 */
      {"DenyDestinations = 10.0.0.0/8:99999",
       "DenyDestinations: '10.0.0.0/8:99999' is not a destination"},
      /* 22 */
      {"AllowDestinations = 2001:db8::/32:443", "AllowDestinations: '2001:db8::/32:443' is not"},
      /* 23 */ {"DenyDestinations = 10.0.0.0/8,", "DenyDestinations: empty item"},
      /* 24 */ {"LogLevel = verbose", "LogLevel: 'verbose' is not a log level"},
      /* 25 */ {"PrivateKey = x", "duplicate key 'PrivateKey'"},
      /* 26 */
      {"SessionIdleTimeout = 86401", "SessionIdleTimeout: '86401' is not a number of seconds"},
      /* 27 */ {"SessionIdleTimeout = 5m", "SessionIdleTimeout: '5m'"},
      /* 28 */ {"SlirpMTU = 65522", "SlirpMTU: '65522' is out of range (1280..65521)"},
      /* 29 */ {"SlirpMTU = 1279", "SlirpMTU: '1279' is out of range"},
      /* 30 */ {"MaxTcpFlows = -1", "MaxTcpFlows: '-1' is not a limit (0..1048576"},
      /* 31 */ {"MaxUdpFlows = 1048577", "MaxUdpFlows: '1048577' is not a limit"},
      /* 32 */ {"MaxHostSockets = many", "MaxHostSockets: 'many' is not a limit"},
      /* 33 */ {"MaxNewFlowsPerSecond = 1.5", "MaxNewFlowsPerSecond: '1.5' is not a limit"},
      /* 34 */ {"FdReserve = 15", "FdReserve: '15' is out of range (16..65536)"},
      /* 35 */ {"FdReserve = unlimited", "FdReserve: 'unlimited' is not a number"},
      /* 36 */ {"RateLimit = 10 Mbit", "RateLimit: '10 Mbit' is not a rate in bits per second"},
      /* 37 */ {"RateLimit = 7999", "RateLimit: '7999' is below the smallest rate limit, 8000"},
      /* 38 */ {"RateLimit = 1001G", "RateLimit: '1001G' is not a rate"},
      /* 39 */ {"RateLimit = M", "RateLimit: 'M' is not a rate"},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    expect_error(parse(rows[i].line + "\n"), kFile, 3, rows[i].fragment);
  }
}

TEST(ServerConfigTest, PrivateKeyErrorsDoNotEchoTheKey) {
  const std::string bad = private_text(1).substr(0, 40) + "!!!=";
  const auto config = parse_server_config("[Interface]\nPrivateKey = " + bad + "\n", kFile);
  expect_error(config, kFile, 2, "PrivateKey: not a base64 32-byte key");
  EXPECT_EQ(config.error().message.find(bad.substr(0, 20)), std::string::npos);
  expect_error(
      parse_server_config("[Interface]\nPrivateKeyFile = a\nPrivateKey = " + private_text(1) + "\n",
                          kFile),
      kFile, 3, "PrivateKey: give either PrivateKey or PrivateKeyFile, not both");
}

TEST(ServerConfigTest, PeerValueErrors) {
  const std::string key = "PublicKey = " + public_text(2) + "\n";
  struct Row {
    std::string line;
    std::string fragment;
  };
  const Row rows[] = {
      /*  0 */ {"AllowedIPs = 10.0.2.300/32", "AllowedIPs: '10.0.2.300/32' is not an IP prefix"},
      /*  1 */
      {"AllowedIPs = 10.0.3.15/32",
       "AllowedIPs: '10.0.3.15/32' is outside the virtual network 10.0.2.0/24"},
      /*  2 */ {"AllowedIPs = 0.0.0.0/0", "AllowedIPs: '0.0.0.0/0' is outside"},
      /*  3 */ {"AllowedIPs = 10.0.2.15/33", "AllowedIPs: '10.0.2.15/33' is not an IP prefix"},
      /*  4 */ {"Endpoint = 198.51.100.1", "Endpoint: '198.51.100.1' is not host:port"},
      /*  5 */ {"Endpoint = 2001:db8::1:51820", "Endpoint: '2001:db8::1:51820' is not host:port"},
      /*  6 */
      {"PersistentKeepalive = 65536", "PersistentKeepalive: '65536' is not a number of seconds"},
      /*  7 */ {"PersistentKeepalive = -1", "PersistentKeepalive: '-1'"},
      /*  8 */ {"MTU = 1000", "MTU: '1000' is out of range"},
      /*  9 */ {"ForwardPort = 8080:80", "ForwardPort: '8080:80' is not a port forward"},
      /* 10 */ {"ForwardPort = tcp:8080:0", "ForwardPort: 'tcp:8080:0' is not a port forward"},
      /* 11 */ {"Name =", "Name: '' must be 1 to 64 printable characters"},
      /* 12 */ {"Name = " + std::string(65, 'n'), "Name: '"},
      /* 13 */ {"PresharedKey = short", "PresharedKey: not a base64 32-byte key"},
      /* 14 */
      {"PublicKey = " + public_text(3), "duplicate key 'PublicKey' in [Peer] (first at line 4)"},
      /* 15 */ {"ListenPort = 1", "unknown key 'ListenPort' in [Peer]"},
      /* 16 */ {"MaxTcpFlows = x", "MaxTcpFlows: 'x' is not a limit"},
      /* 17 */ {"MaxNewFlowsPerSecond = 2000000", "MaxNewFlowsPerSecond: '2000000' is not"},
      /* 18 */ {"FdReserve = 64", "unknown key 'FdReserve' in [Peer]"},
      /* 19 */ {"RateLimit = -5M", "RateLimit: '-5M' is not a rate"},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    expect_error(parse("[Peer]\n" + key + rows[i].line + "\n"), kFile, 5, rows[i].fragment);
  }
  expect_error(parse("[Peer]\nPublicKey = AAAA\n"), kFile, 4,
               "PublicKey: 'AAAA' is not a base64 32-byte key");
}

TEST(ServerConfigTest, PeerSetErrors) {
  const std::string peer2 = "[Peer]\nPublicKey = " + public_text(2) + "\n";
  // Lines: 3 [Peer], 4 key, 5 [Peer], 6 key.
  expect_error(parse(peer2 + peer2), kFile, 6, "PublicKey: the same key as the [Peer] at line 3");
  expect_error(parse("[Peer]\nPublicKey = " + public_text(1) + "\n"), kFile, 4,
               "PublicKey: is the server's own public key");
  expect_error(parse(peer2 + "ForwardPort = tcp:8080:80\n[Peer]\nPublicKey = " + public_text(3) +
                     "\nForwardPort = tcp:203.0.113.1:8080:81\n"),
               kFile, 8,
               "ForwardPort: 'tcp:203.0.113.1:8080:81' takes the same server port as line 5");
  expect_error(parse(peer2 + "ForwardPort = udp:51820:53\n"), kFile, 5,
               "ForwardPort: 'udp:51820:53' takes the server's ListenPort 51820");
  // Different protocols or bind addresses do not conflict; TCP may use the ListenPort number.
  EXPECT_TRUE(parse(peer2 +
                    "ForwardPort = tcp:8080:80, udp:8080:80, tcp:51820:22\n[Peer]\n"
                    "PublicKey = " +
                    public_text(3) +
                    "\nForwardPort = tcp:203.0.113.1:9000:80, tcp:203.0.113.2:9000:80\n"));
}

TEST(ServerConfigTest, LoadFromFileWarnsAboutReadableInlineKeys) {
  ScratchDirectory dir;
  const std::string text = server_text("[Peer]\nPublicKey = " + public_text(2) + "\n");
  const auto private_file = dir.write("private.conf", text, 0600);
  const auto loaded = load_server_config(private_file);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->file, private_file);
  EXPECT_EQ(loaded->peers.size(), 1u);
  EXPECT_TRUE(loaded->warnings.empty());

  const auto group_file = dir.write("group.conf", text, 0640);
  const auto warned = load_server_config(group_file);
  ASSERT_TRUE(warned);
  ASSERT_EQ(warned->warnings.size(), 1u);
  EXPECT_THAT(warned->warnings[0], HasSubstr("chmod 600 " + group_file));
  for (mode_t mode : {0644, 0604, 0606}) {
    const auto open_file = dir.write("open.conf", text, mode);
    expect_error(load_server_config(open_file), open_file, 0,
                 "is readable by others (mode 0" + std::to_string(mode >> 6) +
                     std::to_string((mode >> 3) & 7) + std::to_string(mode & 7) +
                     "): run chmod 600 " + open_file);
  }

  dir.write("k", private_text(1) + "\n", 0600);
  const auto with_key_file = dir.write("keyfile.conf", "[Interface]\nPrivateKeyFile = k\n", 0644);
  const auto quiet = load_server_config(with_key_file);
  ASSERT_TRUE(quiet) << quiet.error().to_string();
  EXPECT_TRUE(quiet->warnings.empty());

  const auto bad = dir.write("bad.conf", "[Interface]\nMTU = 1\n", 0600);
  expect_error(load_server_config(bad), bad, 1, "needs PrivateKey");  // the section's line
  expect_error(load_server_config(dir.path() + "/missing.conf"), dir.path() + "/missing.conf", 0,
               "cannot open");
}

}  // namespace
}  // namespace slirpvpn::config
