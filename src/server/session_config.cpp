// SPDX-License-Identifier: MIT
// Session settings: the virtual network, the client's address, forwards and egress rules.
#include "server/session_config.h"

#include <algorithm>

#include <ifaddrs.h>
#include <netinet/in.h>

#include "crypto/x25519.h"

namespace slirpvpn::server {
namespace {

// The n-th host address of a prefix (n small), e.g. 10.0.2.0/24 + 15 = 10.0.2.15.
net::IpAddress host_in(const net::IpPrefix& prefix, uint8_t n) {
  const auto bytes = prefix.address().bytes();
  if (prefix.address().is_v4()) {
    std::array<uint8_t, 4> v4{bytes[0], bytes[1], bytes[2], uint8_t(bytes[3] + n)};
    return net::IpAddress::v4(v4);
  }
  std::array<uint8_t, 16> v6{};
  std::copy(bytes.begin(), bytes.end(), v6.begin());
  v6[15] = uint8_t(v6[15] + n);
  return net::IpAddress::v6(v6);
}

// The client's address in this family: the first single-address AllowedIPs entry inside the
// network, else the classic .15 (0x15 in IPv6, as slirp's fec0::15).
net::IpAddress client_address(const config::ServerPeer& peer, const net::IpPrefix& network) {
  for (const auto& prefix : peer.allowed_ips) {
    if (prefix.length() == prefix.address().bit_length() && network.contains(prefix.address())) {
      return prefix.address();
    }
  }
  return host_in(network, network.address().is_v4() ? 15 : 0x15);
}

slirp::EgressRule to_egress_rule(const config::DestinationRule& rule) {
  slirp::EgressRule egress;
  egress.prefix = rule.prefix;
  if (rule.protocol == config::Protocol::kTcp) egress.protocol = IPPROTO_TCP;
  if (rule.protocol == config::Protocol::kUdp) egress.protocol = IPPROTO_UDP;
  egress.port_min = rule.port_low;
  egress.port_max = rule.port_high;
  return egress;
}

}  // namespace

slirp::FlowLimits flow_limits(const config::ServerInterface& interface,
                              const config::ServerPeer& peer) {
  slirp::FlowLimits limits;
  const auto pick = [](uint32_t& out, const std::optional<uint32_t>& own,
                       const std::optional<uint32_t>& shared) {
    if (own) {
      out = *own;
    } else if (shared) {
      out = *shared;
    }
  };
  const auto& own = peer.flow_limits;
  const auto& shared = interface.flow_limits;
  pick(limits.max_tcp_flows, own.max_tcp_flows, shared.max_tcp_flows);
  pick(limits.max_udp_flows, own.max_udp_flows, shared.max_udp_flows);
  pick(limits.max_host_sockets, own.max_host_sockets, shared.max_host_sockets);
  pick(limits.max_new_flows_per_second, own.max_new_flows_per_second,
       shared.max_new_flows_per_second);
  if (own.rate_limit) {
    limits.rate_limit_bits_per_second = *own.rate_limit;
  } else if (shared.rate_limit) {
    limits.rate_limit_bits_per_second = *shared.rate_limit;
  }
  return limits;
}

slirp::SessionConfig make_session_config(const config::ServerInterface& interface,
                                         const config::ServerPeer& peer,
                                         const std::vector<net::IpAddress>& server_addresses) {
  slirp::SessionConfig session;
  if (const auto network = interface.network_v4()) {
    session.network = network->address();
    session.network_length = network->length();
    session.gateway = interface.address_v4->address;
    session.dns = interface.dns_v4.value_or(host_in(*network, 3));
    session.client = client_address(peer, *network);
  }
  session.ipv6_enabled = interface.ipv6;
  if (const auto network = interface.network_v6(); network && interface.ipv6) {
    session.prefix6 = network->address();
    session.prefix6_length = network->length();
    session.gateway6 = interface.address_v6->address;
    session.dns6 = interface.dns_v6.value_or(host_in(*network, 3));
    session.client6 = client_address(peer, *network);
  }
  session.mtu = peer.mtu.value_or(interface.mtu);
  session.slirp_mtu = std::max<std::size_t>(interface.slirp_mtu, session.mtu);
  session.disable_host_loopback = !interface.host_loopback;
  for (const auto& forward : peer.forward_ports) {
    slirp::PortForward port;
    port.udp = forward.protocol == config::Protocol::kUdp;
    if (forward.bind_address) port.host_address = *forward.bind_address;
    port.host_port = forward.server_port;
    port.guest_port = forward.client_port;
    session.port_forwards.push_back(port);
  }
  for (const auto& rule : interface.allow_destinations) {
    session.egress.allow.push_back(to_egress_rule(rule));
  }
  for (const auto& rule : interface.deny_destinations) {
    session.egress.deny.push_back(to_egress_rule(rule));
  }
  session.egress.server_addresses = server_addresses;
  session.limits = flow_limits(interface, peer);
  session.log_name = peer.name.empty() ? crypto::encode_key(peer.public_key.span()) : peer.name;
  session.egress.virtual_services = {session.gateway, session.dns};
  if (session.ipv6_enabled) {
    session.egress.virtual_services.push_back(session.gateway6);
    session.egress.virtual_services.push_back(session.dns6);
  }
  return session;
}

std::vector<net::IpAddress> host_addresses() {
  std::vector<net::IpAddress> addresses;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr) continue;
    const auto family = entry->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    if (auto endpoint = net::Endpoint::from_sockaddr(entry->ifa_addr)) {
      addresses.push_back(endpoint->address);
    }
  }
  freeifaddrs(list);
  return addresses;
}

}  // namespace slirpvpn::server
