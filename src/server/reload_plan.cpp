// SPDX-License-Identifier: MIT
// The difference between the running peers and a re-read server file.
#include "server/reload_plan.h"

#include <sodium.h>

#include <algorithm>

namespace slirpvpn::server {
namespace {

bool same_secret(const crypto::SymmetricKey& a, const crypto::SymmetricKey& b) {
  return sodium_memcmp(a.span().data(), b.span().data(), a.span().size()) == 0;
}

// AllowedIPs as sets: `wg set` may have added them in another order.
bool same_prefixes(std::vector<net::IpPrefix> a, std::vector<net::IpPrefix> b) {
  const auto less = [](const net::IpPrefix& x, const net::IpPrefix& y) {
    return x.to_string() < y.to_string();
  };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return a == b;
}

void compare_interface(const config::ServerInterface& running, const config::ServerInterface& file,
                       std::vector<std::string>& out) {
  if (!same_secret(running.private_key, file.private_key)) out.push_back("PrivateKey");
  if (running.listen_port != file.listen_port) out.push_back("ListenPort");
  if (running.address_v4 != file.address_v4 || running.address_v6 != file.address_v6)
    out.push_back("Address");
  if (running.dns_v4 != file.dns_v4 || running.dns_v6 != file.dns_v6) out.push_back("DNS");
  if (running.mtu != file.mtu) out.push_back("MTU");
  if (running.ipv6 != file.ipv6) out.push_back("IPv6");
  if (running.host_loopback != file.host_loopback) out.push_back("HostLoopback");
  if (running.deny_destinations != file.deny_destinations) out.push_back("DenyDestinations");
  if (running.allow_destinations != file.allow_destinations) out.push_back("AllowDestinations");
  if (running.flow_limits != file.flow_limits) out.push_back("flow limits (Max*, RateLimit)");
  if (running.fd_reserve != file.fd_reserve) out.push_back("FdReserve");
}

}  // namespace

ReloadPlan plan_reload(const config::ServerInterface& running_interface,
                       std::span<const config::ServerPeer* const> running,
                       const config::ServerConfig& file) {
  ReloadPlan plan;
  compare_interface(running_interface, file.interface, plan.needs_restart);
  const auto find_in_file = [&](const crypto::PublicKey& key) -> const config::ServerPeer* {
    for (const auto& peer : file.peers)
      if (peer.public_key == key) return &peer;
    return nullptr;
  };
  for (const config::ServerPeer* peer : running) {
    if (!find_in_file(peer->public_key)) plan.removed.push_back(peer->public_key);
  }
  for (size_t i = 0; i < file.peers.size(); ++i) {
    const config::ServerPeer& wanted = file.peers[i];
    const auto found = std::find_if(running.begin(), running.end(), [&](const auto* peer) {
      return peer->public_key == wanted.public_key;
    });
    if (found == running.end()) {
      plan.added.push_back(i);
      continue;
    }
    const config::ServerPeer& now = **found;
    PeerUpdate update;
    update.index = i;
    update.preshared_key = !same_secret(now.preshared_key, wanted.preshared_key);
    update.allowed_ips = !same_prefixes(now.allowed_ips, wanted.allowed_ips);
    update.keepalive = now.persistent_keepalive != wanted.persistent_keepalive;
    update.endpoint = now.endpoint != wanted.endpoint && wanted.endpoint.has_value();
    update.name = now.name != wanted.name;
    update.session = now.mtu != wanted.mtu || now.forward_ports != wanted.forward_ports;
    update.flow_limits = now.flow_limits != wanted.flow_limits;
    if (update.any()) {
      plan.updated.push_back(update);
    } else {
      ++plan.unchanged;
    }
  }
  return plan;
}

}  // namespace slirpvpn::server
