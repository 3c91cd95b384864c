// SPDX-License-Identifier: MIT
// The UAPI text format as wireguard-go and the `wg` tool speak it.
#include "control/uapi.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace slirpvpn::control {
namespace {

Key key_of(uint8_t fill) {
  Key key;
  key.fill(fill);
  return key;
}

TEST(Uapi, HexKeysRoundTrip) {
  Key key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = uint8_t(i * 7);
  const auto text = to_hex(key);
  EXPECT_EQ(text.size(), 64u);
  EXPECT_EQ(text.substr(0, 6), "00070e");
  EXPECT_EQ(key_from_hex(text), key);
  EXPECT_FALSE(key_from_hex(text.substr(1)));
  EXPECT_FALSE(key_from_hex(std::string(64, 'g')));
}

TEST(Uapi, GetResponseHasTheKeysWgReads) {
  DeviceSnapshot device;
  device.private_key = key_of(1);
  device.listen_port = 51820;
  PeerSnapshot peer;
  peer.public_key = key_of(2);
  peer.endpoint = net::Endpoint::parse("198.51.100.2:40000");
  peer.last_handshake = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000) +
                                                              std::chrono::nanoseconds(5));
  peer.tx_bytes = 10;
  peer.rx_bytes = 20;
  peer.persistent_keepalive = 25;
  peer.allowed_ips = {*net::IpPrefix::parse("10.0.2.15/32"), *net::IpPrefix::parse("fec0::15/128")};
  device.peers.push_back(peer);
  const std::string expected = "private_key=" + to_hex(key_of(1)) +
                               "\nlisten_port=51820\n"
                               "public_key=" +
                               to_hex(key_of(2)) + "\npreshared_key=" + to_hex(Key{}) +
                               "\nprotocol_version=1\nendpoint=198.51.100.2:40000\n"
                               "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n"
                               "tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\n"
                               "allowed_ip=10.0.2.15/32\nallowed_ip=fec0::15/128\nerrno=0\n\n";
  EXPECT_EQ(format_get_response(device), expected);
}

TEST(Uapi, SetRequestAsWgSetSendsIt) {
  const std::string text = "set=1\npublic_key=" + to_hex(key_of(3)) +
                           "\nreplace_allowed_ips=true\nallowed_ip=10.0.2.15/32\n"
                           "persistent_keepalive_interval=25\nendpoint=[2001:db8::1]:51820\n"
                           "public_key=" +
                           to_hex(key_of(4)) + "\nremove=true\n\n";
  const auto result = parse_request(text);
  ASSERT_TRUE(result.request) << result.detail;
  EXPECT_EQ(result.request->operation, Operation::kSet);
  const auto& peers = result.request->set.peers;
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].public_key, key_of(3));
  EXPECT_TRUE(peers[0].replace_allowed_ips);
  ASSERT_EQ(peers[0].allowed_ips.size(), 1u);
  EXPECT_EQ(peers[0].allowed_ips[0].to_string(), "10.0.2.15/32");
  EXPECT_EQ(peers[0].persistent_keepalive, 25);
  EXPECT_EQ(peers[0].endpoint->to_string(), "[2001:db8::1]:51820");
  EXPECT_TRUE(peers[1].remove);
}

TEST(Uapi, GetIsRecognised) {
  const auto result = parse_request("get=1\n\n");
  ASSERT_TRUE(result.request);
  EXPECT_EQ(result.request->operation, Operation::kGet);
}

TEST(Uapi, MalformedRequestsAreRefusedWithAnErrno) {
  struct Row {
    const char* text;
    int error;
  };
  const Row rows[] = {
      /* 0 */ {"put=1\n\n", EPROTO},
      /* 1 */ {"set=1\nlisten_port=70000\n\n", EINVAL},
      /* 2 */ {"set=1\npublic_key=zz\n\n", EINVAL},
      /* 3 */ {"set=1\nallowed_ip=10.0.2.15/32\n\n", EINVAL},  // peer key before the peer
      /* 4 */ {"set=1\nbogus\n\n", EINVAL},
      /* 5 */ {"get=1\nlisten_port=1\n\n", EINVAL},
      /* 6 */ {"set=1\nlisten_port=1", EINVAL},  // not terminated
      /* 7 */ {"", EINVAL},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    const auto result = parse_request(rows[i].text);
    EXPECT_FALSE(result.request) << "row " << i;
    EXPECT_EQ(result.error, rows[i].error) << "row " << i;
  }
}

TEST(Uapi, SetTakesOurNameKeyChecked) {
  const std::string key = "public_key=" + to_hex(key_of(2)) + "\n";
  const auto named = parse_request("set=1\n" + key + "slirpvpn_name=bob's phone\n\n");
  ASSERT_TRUE(named.request) << named.detail;
  EXPECT_EQ(named.request->set.peers[0].name, "bob's phone");
  EXPECT_EQ(parse_request("set=1\n" + key + "slirpvpn_name=\n\n").error, EINVAL);
  EXPECT_EQ(parse_request("set=1\n" + key + "slirpvpn_name=" + std::string(65, 'a') + "\n\n").error,
            EINVAL);
  EXPECT_EQ(parse_request("set=1\n" + key + "slirpvpn_name=a\tb\n\n").error, EINVAL);
  // Only inside a peer block.
  EXPECT_EQ(parse_request("set=1\nslirpvpn_name=x\n\n").error, EINVAL);
}

}  // namespace
}  // namespace slirpvpn::control
