// SPDX-License-Identifier: MIT
// rtnetlink over libmnl: links, addresses, routes and policy rules, and change notifications.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "net/ip_address.h"

struct mnl_socket;
struct nlmsghdr;

namespace slirpvpn::net {

// Routing tables by the numbers iproute2 names them (/etc/iproute2/rt_tables).
inline constexpr uint32_t kTableMain = 254;
inline constexpr uint32_t kTableLocal = 255;

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  uint32_t mtu = 0;
  bool up = false;       // IFF_UP: administratively up
  bool running = false;  // IFF_RUNNING: carrier / lower layer up
};

struct AddressInfo {
  int ifindex = 0;
  InterfaceAddress address;
  uint8_t scope = 0;  // RT_SCOPE_*: 0 universe, 253 link, 254 host
};

enum class RouteType : uint8_t {
  kUnicast,      // via a device and/or gateway
  kUnreachable,  // "unreachable": the sender gets EHOSTUNREACH / ICMP unreachable
  kBlackhole,    // "blackhole": silently discarded
  kOther,        // local, broadcast, multicast...: listed, never created here
};

struct Route {
  IpPrefix destination;              // 0.0.0.0/0 or ::/0 is a default route
  std::optional<IpAddress> gateway;  // "via"
  int ifindex = 0;                   // "dev"; 0 for none (unreachable/blackhole)
  uint32_t table = kTableMain;
  std::optional<uint32_t> metric;  // "metric"; unset = the kernel's default (v4 0, v6 1024)
  RouteType type = RouteType::kUnicast;
  std::optional<IpAddress> preferred_source;  // "src"
};

// A policy routing rule that looks a packet up in `table` (FR_ACT_TO_TBL), as wg-quick makes:
//   ip rule add not fwmark 51820 table 51820           {.fwmark=51820, .invert=true, .table=51820}
//   ip rule add table main suppress_prefixlength 0     {.table=main, .suppress_prefixlength=0}
struct Rule {
  bool ipv6 = false;
  std::optional<uint32_t> priority;  // unset: the kernel picks (just below the last one)
  std::optional<uint32_t> fwmark;
  uint32_t fwmask = 0xffffffff;  // only with fwmark
  bool invert = false;           // "not": the rule applies when the selector does NOT match
  uint32_t table = kTableMain;
  std::optional<uint32_t> suppress_prefixlength;
};

// A synchronous rtnetlink client: each call sends one request and waits for the kernel's answer.
// Move-only; not thread-safe (one request at a time per object: use one per thread). It acts in
// the network namespace of the thread that opened it. Changing anything needs CAP_NET_ADMIN;
// errors name the operation and explain the kernel's errno (EEXIST, ESRCH, EPERM, ENODEV...).
class Netlink {
 public:
  static Expected<Netlink> open();
  Netlink(Netlink&& other) noexcept;
  Netlink& operator=(Netlink&& other) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  // Links.
  Expected<int> link_index(std::string_view name);
  Expected<LinkInfo> link(int ifindex);
  Expected<std::vector<LinkInfo>> list_links();
  Expected<void> set_link_up(int ifindex, bool up);
  Expected<void> set_mtu(int ifindex, uint32_t mtu);

  // Addresses. An IPv6 address is added with IFA_F_NODAD, so it is usable at once (a tunnel has
  // no neighbours to collide with). Adding an existing address is EEXIST.
  Expected<void> add_address(int ifindex, const InterfaceAddress& address);
  Expected<void> delete_address(int ifindex, const InterfaceAddress& address);
  // family AF_INET, AF_INET6 or AF_UNSPEC (both); ifindex 0 = every link.
  Expected<std::vector<AddressInfo>> list_addresses(int family = AF_UNSPEC, int ifindex = 0);

  // Routes. Adding an existing route is EEXIST; deleting a missing one ESRCH.
  Expected<void> add_route(const Route& route);
  Expected<void> delete_route(const Route& route);
  // Every route of `family` (AF_INET / AF_INET6) in `table`, or in all tables when unset.
  Expected<std::vector<Route>> list_routes(int family, std::optional<uint32_t> table = {});
  // The main table's default route with the lowest metric, if any (what "is there an uplink?"
  // asks).
  Expected<std::optional<Route>> default_route(int family);

  // Policy rules. Deleting matches on the fields set.
  Expected<void> add_rule(const Rule& rule);
  Expected<void> delete_rule(const Rule& rule);
  Expected<std::vector<Rule>> list_rules(bool ipv6);

 private:
  explicit Netlink(mnl_socket* socket) noexcept;
  // Sends the message in buffer_ and collects the answer; `callback` (may be null) sees each
  // data message of a dump.
  using Callback = int (*)(const ::nlmsghdr*, void*);
  Expected<void> transact(std::string_view operation, const std::string& context, Callback callback,
                          void* data);

  mnl_socket* socket_ = nullptr;
  uint32_t port_id_ = 0;
  uint32_t sequence_ = 0;
  std::vector<uint8_t> buffer_;
};

// What changed, from a NetlinkMonitor.
struct NetlinkEvent {
  enum class Kind : uint8_t {
    kLink,
    kAddress,
    kRoute,
    kRule,
    // The kernel dropped notifications (our socket buffer overflowed): re-read the state.
    kOverrun,
  };
  Kind kind = Kind::kLink;
  bool removed = false;  // RTM_DEL* (false: RTM_NEW*)
  int family = AF_UNSPEC;
  int ifindex = 0;  // link/address/route (output device), 0 when none
  // The address for kAddress, the destination for kRoute.
  std::optional<IpPrefix> prefix;
};

// A non-blocking subscription to link, address (v4/v6), route (v4/v6) and rule (v4/v6) changes
// (RTMGRP_*), so a client notices the host moving networks. Add fd() to the event loop for
// reading, then call read_events(). Move-only; one thread at a time.
class NetlinkMonitor {
 public:
  static Expected<NetlinkMonitor> open();
  NetlinkMonitor(NetlinkMonitor&& other) noexcept;
  NetlinkMonitor& operator=(NetlinkMonitor&& other) noexcept;
  NetlinkMonitor(const NetlinkMonitor&) = delete;
  NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;
  ~NetlinkMonitor();

  int fd() const noexcept;
  // Appends every pending event to `events` and returns how many were appended; 0 when none is
  // waiting.
  Expected<size_t> read_events(std::vector<NetlinkEvent>& events);

 private:
  explicit NetlinkMonitor(mnl_socket* socket) noexcept : socket_(socket) {}
  mnl_socket* socket_ = nullptr;
  std::vector<uint8_t> buffer_;
};

}  // namespace slirpvpn::net
