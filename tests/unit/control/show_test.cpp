// SPDX-License-Identifier: MIT
// `slirpvpn show`: wg's layout and units, our extra lines, the JSON object; and get responses
// read back (parse_get_response) from what the server formats.
#include "control/show.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/x25519.h"

namespace slirpvpn::control {
namespace {

using namespace std::chrono_literals;

Key key_of(uint8_t fill) {
  Key key;
  key.fill(fill);
  return key;
}

DeviceSnapshot sample() {
  DeviceSnapshot device;
  device.private_key = key_of(0x41);
  device.listen_port = 51820;
  device.extra = {{"drop_invalid_mac1", "3"}};
  PeerSnapshot active;
  active.public_key = key_of(2);
  active.endpoint = net::Endpoint::parse("198.51.100.2:40000");
  active.last_handshake = std::chrono::system_clock::time_point(1700000000s);
  active.rx_bytes = 1536;
  active.tx_bytes = 3 * 1024 * 1024;
  active.persistent_keepalive = 25;
  active.allowed_ips = {*net::IpPrefix::parse("10.0.2.15/32"),
                        *net::IpPrefix::parse("fec0::15/128")};
  active.extra = {{"name", "laptop"}, {"slirp_active", "1"},  {"tcp_flows", "3"},
                  {"udp_flows", "1"}, {"egress_denied", "2"}, {"drop_refused_reserved", "2"}};
  PeerSnapshot idle;
  idle.public_key = key_of(3);
  idle.preshared_key = key_of(9);
  idle.allowed_ips = {*net::IpPrefix::parse("10.0.2.15/32")};
  idle.extra = {{"slirp_active", "0"}};
  device.peers = {idle, active};
  return device;
}

TEST(Show, UnitsAsWgPrintsThem) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(3 * 1024 * 1024), "3.00 MiB");
  EXPECT_EQ(format_ago(0s), "Now");
  EXPECT_EQ(format_ago(1s), "1 second ago");
  EXPECT_EQ(format_ago(65s), "1 minute, 5 seconds ago");
  EXPECT_EQ(format_ago(2h + 1s), "2 hours, 1 second ago");
}

TEST(Show, TextHasWgLinesThenOurs) {
  ASSERT_TRUE(crypto::initialize());
  const auto now = std::chrono::system_clock::time_point(1700000000s + 65s);
  const std::string text = format_show(sample(), "wg0", now);
  const auto private_key =
      crypto::PrivateKey::from_bytes(std::span<const uint8_t, 32>(key_of(0x41)));
  const auto public_key = crypto::encode_key(crypto::derive_public_key(private_key).span());
  EXPECT_NE(text.find("interface: wg0\n  public key: " + public_key +
                      "\n  private key: (hidden)\n"
                      "  listening port: 51820\n  drops: invalid_mac1=3\n"),
            std::string::npos)
      << text;
  // The peer with a handshake comes first, as in wg.
  const auto active =
      text.find("peer: " + crypto::encode_key(std::span<const uint8_t, 32>(key_of(2))));
  const auto idle =
      text.find("peer: " + crypto::encode_key(std::span<const uint8_t, 32>(key_of(3))));
  ASSERT_NE(active, std::string::npos);
  ASSERT_NE(idle, std::string::npos);
  EXPECT_LT(active, idle);
  EXPECT_NE(text.find("  name: laptop\n  endpoint: 198.51.100.2:40000\n"
                      "  allowed ips: 10.0.2.15/32, fec0::15/128\n"
                      "  latest handshake: 1 minute, 5 seconds ago\n"
                      "  transfer: 1.50 KiB received, 3.00 MiB sent\n"
                      "  persistent keepalive: every 25 seconds\n"
                      "  slirp: 3 tcp flows, 1 udp flow\n  egress denied: 2\n"
                      "  drops: refused_reserved=2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  preshared key: (hidden)\n  allowed ips: 10.0.2.15/32\n"
                      "  slirp: no network (created on the next packet)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(to_hex(key_of(9))), std::string::npos);
}

TEST(Show, JsonIsOneObjectWithNumbersAndNoSecrets) {
  ASSERT_TRUE(crypto::initialize());
  const auto json = nlohmann::json::parse(format_show_json(sample(), "wg0"));
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["interface"], "wg0");
  EXPECT_EQ(json["listen_port"], 51820);
  EXPECT_EQ(json["drops"]["invalid_mac1"], 3);
  ASSERT_EQ(json["peers"].size(), 2u);
  const auto& idle = json["peers"][0];
  EXPECT_EQ(idle["preshared_key"], true);
  EXPECT_EQ(idle["slirp_active"], false);
  EXPECT_TRUE(idle["endpoint"].is_null());
  EXPECT_TRUE(idle["latest_handshake"].is_null());
  EXPECT_TRUE(idle["name"].is_null());
  const auto& active = json["peers"][1];
  EXPECT_EQ(active["name"], "laptop");
  EXPECT_EQ(active["endpoint"], "198.51.100.2:40000");
  EXPECT_EQ(active["latest_handshake"], 1700000000);
  EXPECT_EQ(active["rx_bytes"], 1536);
  EXPECT_EQ(active["tcp_flows"], 3);
  EXPECT_EQ(active["udp_flows"], 1);
  EXPECT_EQ(active["egress_denied"], 2);
  EXPECT_EQ(active["slirp_active"], true);
  EXPECT_EQ(active["drops"]["refused_reserved"], 2);
  EXPECT_EQ(active["allowed_ips"], nlohmann::json({"10.0.2.15/32", "fec0::15/128"}));
  const std::string dumped = json.dump();
  EXPECT_EQ(dumped.find(to_hex(key_of(0x41))), std::string::npos);
  EXPECT_EQ(dumped.find(to_hex(key_of(9))), std::string::npos);
}

TEST(Show, JsonEscapesNames) {
  auto device = sample();
  device.peers[1].extra[0].second = "a \"quoted\" name \\ with \xff byte";
  const auto json = nlohmann::json::parse(format_show_json(device, "wg0"));
  EXPECT_EQ(json["peers"][1]["name"].get<std::string>().substr(0, 14), "a \"quoted\" nam");
}

TEST(Show, GetResponseReadsBackWithExtras) {
  const auto device = sample();
  int error = -1;
  const auto parsed = parse_get_response(format_get_response(device), error);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(error, 0);
  EXPECT_EQ(parsed->private_key, device.private_key);
  EXPECT_EQ(parsed->listen_port, 51820);
  EXPECT_EQ(parsed->extra, device.extra);
  ASSERT_EQ(parsed->peers.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& want = device.peers[i];
    const auto& got = parsed->peers[i];
    EXPECT_EQ(got.public_key, want.public_key);
    EXPECT_EQ(got.preshared_key, want.preshared_key);
    EXPECT_EQ(got.endpoint, want.endpoint);
    EXPECT_EQ(got.last_handshake, want.last_handshake);
    EXPECT_EQ(got.rx_bytes, want.rx_bytes);
    EXPECT_EQ(got.tx_bytes, want.tx_bytes);
    EXPECT_EQ(got.persistent_keepalive, want.persistent_keepalive);
    EXPECT_EQ(got.allowed_ips, want.allowed_ips);
    EXPECT_EQ(got.extra, want.extra);
  }
}

TEST(Show, GetResponseErrorsAndMalformedText) {
  int error = 0;
  EXPECT_FALSE(parse_get_response("errno=13\n\n", error));
  EXPECT_EQ(error, 13);
  EXPECT_FALSE(parse_get_response("listen_port=1\n", error));  // no errno line
  EXPECT_FALSE(parse_get_response("public_key=zz\nerrno=0\n\n", error));
  EXPECT_FALSE(parse_get_response("listen_port\nerrno=0\n\n", error));
  // Keys it does not know are skipped, as wg does.
  const auto parsed = parse_get_response("listen_port=7\nfuture_key=1\nerrno=0\n\n", error);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->listen_port, 7);
}

}  // namespace
}  // namespace slirpvpn::control
