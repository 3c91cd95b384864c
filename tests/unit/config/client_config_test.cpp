// SPDX-License-Identifier: MIT
// Tests for the client configuration: every key, its default, and every error with its line.
#include "config/client_config.h"

#include "test_support.h"

namespace slirpvpn::config {
namespace {

using testing::expect_error;
using ::testing::HasSubstr;
using testing::private_text;
using testing::public_text;
using testing::ScratchDirectory;

constexpr const char* kFile = "client.conf";

net::IpPrefix prefix(std::string_view text) {
  return *net::IpPrefix::parse(text);
}

// Lines 1-3: [Interface], PrivateKey, Address; `interface_more` from line 4; then [Peer] with
// PublicKey, Endpoint, AllowedIPs and `peer_more`.
std::string client_text(const std::string& interface_more, const std::string& peer_more) {
  return "[Interface]\nPrivateKey = " + private_text(10) + "\nAddress = 10.0.2.15/32\n" +
         interface_more + "[Peer]\nPublicKey = " + public_text(11) +
         "\nEndpoint = vpn.example.com:51820\nAllowedIPs = 0.0.0.0/0\n" + peer_more;
}

ConfigExpected<ClientConfig> parse(const std::string& interface_more,
                                   const std::string& peer_more = "") {
  return parse_client_config(client_text(interface_more, peer_more), kFile);
}

TEST(ClientConfigTest, MinimalFileHasDocumentedDefaults) {
  const auto config = parse("");
  ASSERT_TRUE(config) << config.error().to_string();
  const auto& i = config->interface;
  EXPECT_EQ(crypto::encode_key(i.private_key.span()), private_text(10));
  ASSERT_EQ(i.addresses.size(), 1u);
  EXPECT_EQ(i.addresses[0].to_string(), "10.0.2.15/32");
  EXPECT_TRUE(i.dns.empty());
  EXPECT_TRUE(i.dns_search.empty());
  EXPECT_EQ(i.mtu, 1420u);
  EXPECT_FALSE(i.listen_port);
  EXPECT_EQ(i.table.mode, RouteTable::Mode::kAuto);
  EXPECT_EQ(i.fwmark.mode, FwMark::Mode::kAuto);
  EXPECT_FALSE(i.kill_switch);
  const auto& p = config->peer;
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.public_key, testing::public_key(11));
  EXPECT_FALSE(p.has_preshared_key);
  EXPECT_TRUE(p.preshared_key.is_zero());
  EXPECT_EQ(p.endpoint, (net::HostPort{"vpn.example.com", 51820}));
  EXPECT_EQ(p.allowed_ips, (std::vector<net::IpPrefix>{prefix("0.0.0.0/0")}));
  EXPECT_EQ(p.persistent_keepalive, std::chrono::seconds(0));
}

TEST(ClientConfigTest, EveryKey) {
  const std::string psk = private_text(12);
  const auto config = parse(
      "Address = fec0::15/128\n"
      "DNS = 10.0.2.3, fec0::3, corp.example.com\n"
      "DNS = example.org\n"
      "MTU = 1280\n"
      "ListenPort = 0\n"
      "Table = 1234\n"
      "FwMark = 0xca6c\n"
      "KillSwitch = yes\n",
      "AllowedIPs = ::/0\n"
      "PresharedKey = " +
          psk +
          "\n"
          "PersistentKeepalive = 25\n");
  ASSERT_TRUE(config) << config.error().to_string();
  const auto& i = config->interface;
  ASSERT_EQ(i.addresses.size(), 2u);
  EXPECT_EQ(i.addresses[1].to_string(), "fec0::15/128");
  EXPECT_EQ(i.dns, (std::vector<net::IpAddress>{*net::IpAddress::parse("10.0.2.3"),
                                                *net::IpAddress::parse("fec0::3")}));
  EXPECT_EQ(i.dns_search, (std::vector<std::string>{"corp.example.com", "example.org"}));
  EXPECT_EQ(i.mtu, 1280u);
  EXPECT_EQ(i.listen_port, 0);
  EXPECT_EQ(i.table, (RouteTable{RouteTable::Mode::kId, 1234}));
  EXPECT_EQ(i.fwmark, (FwMark{FwMark::Mode::kValue, 0xca6c}));
  EXPECT_TRUE(i.kill_switch);
  const auto& p = config->peer;
  EXPECT_EQ(p.allowed_ips, (std::vector<net::IpPrefix>{prefix("0.0.0.0/0"), prefix("::/0")}));
  EXPECT_TRUE(p.has_preshared_key);
  EXPECT_EQ(crypto::encode_key(p.preshared_key.span()), psk);
  EXPECT_EQ(p.persistent_keepalive, std::chrono::seconds(25));
}

TEST(ClientConfigTest, EndpointForms) {
  for (const auto& [text, host, port] : {std::tuple{"198.51.100.1:51820", "198.51.100.1", 51820},
                                         std::tuple{"[2001:db8::1]:443", "2001:db8::1", 443},
                                         std::tuple{"vpn.example.com:1", "vpn.example.com", 1}}) {
    const auto config = parse_client_config(
        "[Interface]\nPrivateKey = " + private_text(10) + "\nAddress = 10.0.2.15\n[Peer]\n" +
            "PublicKey = " + public_text(11) + "\nAllowedIPs = 0.0.0.0/0\nEndpoint = " + text +
            "\n",
        kFile);
    ASSERT_TRUE(config) << config.error().to_string();
    EXPECT_EQ(config->peer.endpoint, (net::HostPort{host, uint16_t(port)}));
  }
}

TEST(ClientConfigTest, KeyFiles) {
  ScratchDirectory dir;
  dir.write("client.key", private_text(13) + "\n", 0600);
  dir.write("client.psk", private_text(14) + "\n", 0600);
  const std::string conf = dir.path() + "/client.conf";
  const auto config = parse_client_config(
      "[Interface]\nPrivateKeyFile = client.key\nAddress = 10.0.2.15/32\n[Peer]\nPublicKey = " +
          public_text(11) + "\nPresharedKeyFile = " + dir.path() +
          "/client.psk\nEndpoint = 198.51.100.1:51820\nAllowedIPs = 0.0.0.0/0\n",
      conf);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(crypto::encode_key(config->interface.private_key.span()), private_text(13));
  EXPECT_EQ(crypto::encode_key(config->peer.preshared_key.span()), private_text(14));

  dir.write("open.key", private_text(13) + "\n", 0604);
  expect_error(parse_client_config("[Interface]\nPrivateKeyFile = open.key\n", conf), conf, 2,
               "PrivateKeyFile: key file '" + dir.path() + "/open.key' is world accessible");
}

TEST(ClientConfigTest, SectionErrors) {
  expect_error(parse_client_config("", kFile), kFile, 0, "no [Interface] section");
  expect_error(
      parse_client_config(
          "[Interface]\nPrivateKey = " + private_text(10) + "\nAddress = 10.0.2.15/32\n", kFile),
      kFile, 0, "no [Peer] section: a client needs exactly one");
  // Two peers: the error is at the second [Peer] header (line 8).
  expect_error(parse("", "[Peer]\nPublicKey = " + public_text(12) + "\n"), kFile, 8,
               "a second [Peer] (the first is at line 4): a client has exactly one peer");
  expect_error(parse("", "[Interface]\n"), kFile, 8, "a second [Interface]");
  expect_error(parse("", "[Client]\n"), kFile, 8, "unknown section [Client]");
  expect_error(parse_client_config("[Interface]\nAddress = 10.0.2.15\n", kFile), kFile, 1,
               "[Interface] needs PrivateKey or PrivateKeyFile");
  expect_error(parse_client_config("[Interface]\nPrivateKey = " + private_text(10) + "\n", kFile),
               kFile, 1, "[Interface] needs an Address");
  const std::string interface =
      "[Interface]\nPrivateKey = " + private_text(10) + "\nAddress = 10.0.2.15\n";
  expect_error(
      parse_client_config(interface + "[Peer]\nEndpoint = a:1\nAllowedIPs = ::/0\n", kFile), kFile,
      4, "[Peer] needs a PublicKey");
  expect_error(
      parse_client_config(
          interface + "[Peer]\nPublicKey = " + public_text(11) + "\nAllowedIPs = ::/0\n", kFile),
      kFile, 4, "[Peer] needs an Endpoint");
  expect_error(
      parse_client_config(
          interface + "[Peer]\nPublicKey = " + public_text(11) + "\nEndpoint = a:1\n", kFile),
      kFile, 4, "[Peer] needs AllowedIPs");
}

TEST(ClientConfigTest, WgQuickHooksAreRejected) {
  for (const char* hook : {"PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"}) {
    SCOPED_TRACE(hook);
    expect_error(parse(std::string(hook) + " = echo hi\n"), kFile, 4,
                 std::string(hook) + " is not supported by slirpvpn");
  }
}

TEST(ClientConfigTest, InterfaceValueErrors) {
  struct Row {
    std::string line;
    std::string fragment;
  };
  const Row rows[] = {
      /*  0 */ {"Address = 10.0.2.15/33", "Address: '10.0.2.15/33' is not an IP address"},
      /*  1 */ {"Address = 10.0.2.15/24", "Address: '10.0.2.15/24' is listed twice"},
      /*  2 */
      {"DNS = 10.0.2.300", "DNS: '10.0.2.300' is neither an IP address nor a search domain"},
      /*  3 */ {"DNS = a..b", "DNS: 'a..b' is neither"},
      /*  4 */ {"DNS = 10.0.2.3,", "DNS: empty item"},
      /*  5 */ {"MTU = 70000", "MTU: '70000' is out of range (1280..65535)"},
      /*  6 */ {"ListenPort = 65536", "ListenPort: '65536' is not a port (0..65535)"},
      /*  7 */ {"Table = local", "Table: 'local' is not a routing table"},
      /*  8 */ {"FwMark = 0x1ffffffff", "FwMark: '0x1ffffffff' is not a firewall mark"},
      /*  9 */ {"KillSwitch = sometimes", "KillSwitch: 'sometimes' is not a boolean"},
      /* 10 */ {"HostLoopback = true", "unknown key 'HostLoopback' in [Interface]"},
      /* 11 */ {"MTU = 1280\nMTU = 1280", "duplicate key 'MTU'"},
      /* 12 */ {"PrivateKeyFile = x", "PrivateKeyFile: give either PrivateKey or PrivateKeyFile"},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    const int line = rows[i].line.find('\n') == std::string::npos ? 4 : 5;
    expect_error(parse(rows[i].line + "\n"), kFile, line, rows[i].fragment);
  }
}

TEST(ClientConfigTest, PeerValueErrors) {
  struct Row {
    std::string line;
    std::string fragment;
  };
  // [Peer] at 4, PublicKey 5, Endpoint 6, AllowedIPs 7; the row is line 8.
  const Row rows[] = {
      /*  0 */ {"AllowedIPs = 10.0.2.300/32", "AllowedIPs: '10.0.2.300/32' is not an IP prefix"},
      /*  1 */ {"Endpoint = a:2", "duplicate key 'Endpoint' in [Peer] (first at line 6)"},
      /*  2 */ {"PersistentKeepalive = always", "PersistentKeepalive: 'always' is not a number"},
      /*  3 */ {"PresharedKey = abc", "PresharedKey: not a base64 32-byte key"},
      /*  4 */ {"ForwardPort = tcp:8080:80", "unknown key 'ForwardPort' in [Peer]"},
      /*  5 */ {"MTU = 1280", "unknown key 'MTU' in [Peer]"},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    SCOPED_TRACE("row " + std::to_string(i));
    expect_error(parse("", rows[i].line + "\n"), kFile, 8, rows[i].fragment);
  }
  const std::string interface =
      "[Interface]\nPrivateKey = " + private_text(10) + "\nAddress = 10.0.2.15\n";
  expect_error(parse_client_config(interface + "[Peer]\nPublicKey = " + public_text(11) +
                                       "\nEndpoint = 2001:db8::1:51820\n",
                                   kFile),
               kFile, 6, "Endpoint: '2001:db8::1:51820' is not host:port");
  expect_error(parse_client_config(interface + "[Peer]\nPublicKey = x\n", kFile), kFile, 5,
               "PublicKey: 'x' is not a base64 32-byte key");
}

TEST(ClientConfigTest, LoadFromFile) {
  ScratchDirectory dir;
  const auto path = dir.write("client.conf", client_text("", ""), 0600);
  const auto loaded = load_client_config(path);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_EQ(loaded->file, path);
  EXPECT_TRUE(loaded->warnings.empty());
  // The same text, readable by the group: loads, with a warning.
  const auto group = dir.write("group.conf", client_text("", ""), 0640);
  const auto warned = load_client_config(group);
  ASSERT_TRUE(warned);
  ASSERT_EQ(warned->warnings.size(), 1u);
  EXPECT_THAT(warned->warnings[0], HasSubstr("readable by its group"));
  // Readable by everyone: refused, naming the mode and the fix.
  const auto open = dir.write("open.conf", client_text("", ""), 0644);
  expect_error(load_client_config(open), open, 0,
               "holds keys inline and is readable by others (mode 0644): run chmod 600 " + open);
  const auto bad = dir.write("bad.conf", client_text("MTU = 1\n", ""), 0600);
  expect_error(load_client_config(bad), bad, 4, "MTU: '1' is out of range");
}

TEST(ClientConfigTest, ParsesWgQuickStyleFile) {
  // A file as `wg-quick` users write them, comments and odd spacing included.
  const auto config = parse_client_config(
      "# laptop\n"
      "[Interface]\n"
      "PrivateKey=" +
          private_text(10) +
          "   # secret\n"
          "Address = 10.0.2.15/32,fec0::15/128\n"
          "DNS = 10.0.2.3\n"
          "\n"
          "[Peer]\n"
          "PublicKey = " +
          public_text(11) +
          "\n"
          "AllowedIPs = 0.0.0.0/0, ::/0\n"
          "Endpoint = 198.51.100.1:51820\n"
          "PersistentKeepalive = 25\n",
      kFile);
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->interface.addresses.size(), 2u);
  EXPECT_EQ(config->peer.line, 7);
  EXPECT_EQ(config->peer.allowed_ips.size(), 2u);
}

}  // namespace
}  // namespace slirpvpn::config
