// SPDX-License-Identifier: MIT
// Netlink and NetlinkMonitor: rtnetlink requests, dumps and notifications built with libmnl.
//
// Each request is one message in buffer_ with NLM_F_ACK (or NLM_F_DUMP for lists), sent and then
// read until mnl_cb_run reports the end: the ACK (an NLMSG_ERROR with error 0), NLMSG_DONE, or a
// kernel error, whose errno transact() turns into an Error that says what it means for the
// request. Dumps parse each message with mnl_attr_parse into plain structs.
#include "net/netlink.h"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace slirpvpn::net {
namespace {

// Big enough for any dump message batch the kernel sends (MNL_SOCKET_DUMP_SIZE, 32 KiB).
constexpr size_t kBufferSize = 32768;

std::string explain(int error) {
  switch (error) {
    case EPERM:
      return "needs CAP_NET_ADMIN: run as root or `setcap cap_net_admin+ep` the binary";
    case EEXIST:
      return "it already exists";
    case ESRCH:
      return "no such route or rule";
    case ENODEV:
      return "no such network device";
    case EADDRNOTAVAIL:
      return "no such address on that device";
    case ENETUNREACH:
      return "the gateway is not reachable through the device";
    case EINVAL:
      return "the kernel rejected the request's values";
    case EAFNOSUPPORT:
      return "address family disabled in this kernel or namespace";
    default:
      return {};
  }
}

int family_of(const IpAddress& address) {
  return address.is_v4() ? AF_INET : AF_INET6;
}

void put_address(nlmsghdr* message, uint16_t type, const IpAddress& address) {
  mnl_attr_put(message, type, address.bytes().size(), address.bytes().data());
}

std::optional<IpAddress> get_address(const nlattr* attribute) {
  const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(attribute));
  return IpAddress::from_bytes({bytes, mnl_attr_get_payload_len(attribute)});
}

// Collects the attributes of one message by type (types beyond kMax are ignored).
template <size_t kMax>
struct Attributes {
  std::array<const nlattr*, kMax + 1> table{};
  static int collect(const nlattr* attribute, void* data) {
    auto* self = static_cast<Attributes*>(data);
    const uint16_t type = mnl_attr_get_type(attribute);
    if (type <= kMax) self->table[type] = attribute;
    return MNL_CB_OK;
  }
  const nlattr* operator[](size_t type) const { return type <= kMax ? table[type] : nullptr; }
  uint32_t u32(size_t type) const { return mnl_attr_get_u32(table[type]); }
};

RouteType route_type_from(uint8_t type) {
  switch (type) {
    case RTN_UNICAST:
      return RouteType::kUnicast;
    case RTN_UNREACHABLE:
      return RouteType::kUnreachable;
    case RTN_BLACKHOLE:
      return RouteType::kBlackhole;
    default:
      return RouteType::kOther;
  }
}

uint8_t route_type_to(RouteType type) {
  switch (type) {
    case RouteType::kUnreachable:
      return RTN_UNREACHABLE;
    case RouteType::kBlackhole:
      return RTN_BLACKHOLE;
    default:
      return RTN_UNICAST;
  }
}

std::optional<LinkInfo> parse_link(const nlmsghdr* message) {
  const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
  Attributes<IFLA_MAX> attributes;
  mnl_attr_parse(message, sizeof(*info), Attributes<IFLA_MAX>::collect, &attributes);
  LinkInfo link;
  link.ifindex = info->ifi_index;
  link.up = (info->ifi_flags & IFF_UP) != 0;
  link.running = (info->ifi_flags & IFF_RUNNING) != 0;
  if (attributes[IFLA_IFNAME]) link.name = mnl_attr_get_str(attributes[IFLA_IFNAME]);
  if (attributes[IFLA_MTU]) link.mtu = attributes.u32(IFLA_MTU);
  return link;
}

std::optional<AddressInfo> parse_address(const nlmsghdr* message) {
  const auto* info = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(message));
  Attributes<IFA_MAX> attributes;
  mnl_attr_parse(message, sizeof(*info), Attributes<IFA_MAX>::collect, &attributes);
  // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point v4).
  const nlattr* attribute = attributes[IFA_LOCAL] ? attributes[IFA_LOCAL] : attributes[IFA_ADDRESS];
  if (!attribute) return std::nullopt;
  auto address = get_address(attribute);
  if (!address || info->ifa_prefixlen > address->bit_length()) return std::nullopt;
  return AddressInfo{static_cast<int>(info->ifa_index),
                     InterfaceAddress{*address, info->ifa_prefixlen}, info->ifa_scope};
}

std::optional<Route> parse_route(const nlmsghdr* message) {
  const auto* info = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(message));
  if (info->rtm_flags & RTM_F_CLONED) return std::nullopt;  // cache entries, not routes
  Attributes<RTA_MAX> attributes;
  mnl_attr_parse(message, sizeof(*info), Attributes<RTA_MAX>::collect, &attributes);
  Route route;
  IpAddress base = info->rtm_family == AF_INET ? IpAddress::v4({}) : IpAddress::v6({});
  if (attributes[RTA_DST]) {
    auto destination = get_address(attributes[RTA_DST]);
    if (!destination) return std::nullopt;
    base = *destination;
  }
  if (info->rtm_dst_len > base.bit_length()) return std::nullopt;
  route.destination = IpPrefix(base, info->rtm_dst_len);
  if (attributes[RTA_GATEWAY]) route.gateway = get_address(attributes[RTA_GATEWAY]);
  if (attributes[RTA_PREFSRC]) route.preferred_source = get_address(attributes[RTA_PREFSRC]);
  if (attributes[RTA_OIF]) route.ifindex = static_cast<int>(attributes.u32(RTA_OIF));
  route.table = attributes[RTA_TABLE] ? attributes.u32(RTA_TABLE) : info->rtm_table;
  if (attributes[RTA_PRIORITY]) route.metric = attributes.u32(RTA_PRIORITY);
  route.type = route_type_from(info->rtm_type);
  return route;
}

std::optional<Rule> parse_rule(const nlmsghdr* message) {
  const auto* info = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(message));
  Attributes<FRA_MAX> attributes;
  mnl_attr_parse(message, sizeof(*info), Attributes<FRA_MAX>::collect, &attributes);
  Rule rule;
  rule.ipv6 = info->family == AF_INET6;
  rule.invert = (info->flags & FIB_RULE_INVERT) != 0;
  rule.table = attributes[FRA_TABLE] ? attributes.u32(FRA_TABLE) : info->table;
  if (attributes[FRA_PRIORITY]) rule.priority = attributes.u32(FRA_PRIORITY);
  if (attributes[FRA_FWMARK]) rule.fwmark = attributes.u32(FRA_FWMARK);
  if (attributes[FRA_FWMASK]) rule.fwmask = attributes.u32(FRA_FWMASK);
  // The kernel reports "no suppress_prefixlength" as -1.
  if (attributes[FRA_SUPPRESS_PREFIXLEN] && attributes.u32(FRA_SUPPRESS_PREFIXLEN) != 0xffffffff) {
    rule.suppress_prefixlength = attributes.u32(FRA_SUPPRESS_PREFIXLEN);
  }
  return rule;
}

// Adapts a parse function and a vector to a libmnl data callback.
template <typename T, std::optional<T> (*kParse)(const nlmsghdr*)>
int collect_into(const nlmsghdr* message, void* data) {
  if (auto value = kParse(message)) static_cast<std::vector<T>*>(data)->push_back(*value);
  return MNL_CB_OK;
}

}  // namespace

Netlink::Netlink(mnl_socket* socket) noexcept
    : socket_(socket), port_id_(mnl_socket_get_portid(socket)), buffer_(kBufferSize) {}

Expected<Netlink> Netlink::open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!socket) return fail_errno("mnl_socket_open", "NETLINK_ROUTE");
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int error = errno;
    mnl_socket_close(socket);
    return fail("mnl_socket_bind", "NETLINK_ROUTE", error);
  }
  // Extended ACKs: the kernel logs why it refused a request (visible with strace).
  int on = 1;
  mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof on);
  // The kernel answers at once; a bound on the wait turns a lost answer into an error, not a hang.
  const timeval timeout{5, 0};
  setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return Netlink(socket);
}

Netlink::Netlink(Netlink&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)),
      port_id_(other.port_id_),
      sequence_(other.sequence_),
      buffer_(std::move(other.buffer_)) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    if (socket_) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    port_id_ = other.port_id_;
    sequence_ = other.sequence_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

Netlink::~Netlink() {
  if (socket_) mnl_socket_close(socket_);
}

Expected<void> Netlink::transact(std::string_view operation, const std::string& context,
                                 Callback callback, void* data) {
  auto* message = reinterpret_cast<nlmsghdr*>(buffer_.data());
  const uint32_t sequence = message->nlmsg_seq;
  if (mnl_socket_sendto(socket_, message, message->nlmsg_len) < 0) {
    return fail_errno(std::string(operation), context);
  }
  for (;;) {
    const ssize_t received = mnl_socket_recvfrom(socket_, buffer_.data(), buffer_.size());
    if (received < 0) {
      if (errno == EINTR) continue;
      return fail_errno(std::string(operation), context);
    }
    const int result = mnl_cb_run(buffer_.data(), static_cast<size_t>(received), sequence, port_id_,
                                  callback, data);
    if (result == MNL_CB_STOP) return {};
    if (result == MNL_CB_ERROR) {
      const int error = errno;
      std::string full = context;
      if (auto why = explain(error); !why.empty()) full += " (" + why + ")";
      return fail(std::string(operation), std::move(full), error);
    }
  }
}

Expected<int> Netlink::link_index(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return fail("RTM_GETLINK", "link '" + std::string(name) + "'", EINVAL);
  }
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETLINK;
  // The ACK after the answer is what ends transact()'s read loop.
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(message, IFLA_IFNAME, std::string(name).c_str());
  std::vector<LinkInfo> links;
  auto done = transact("RTM_GETLINK", "link '" + std::string(name) + "'",
                       collect_into<LinkInfo, parse_link>, &links);
  if (!done) return tl::unexpected(std::move(done.error()));
  if (links.empty()) return fail("RTM_GETLINK", "link '" + std::string(name) + "'", ENODEV);
  return links.front().ifindex;
}

Expected<LinkInfo> Netlink::link(int ifindex) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETLINK;
  // The ACK after the answer is what ends transact()'s read loop.
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = ifindex;
  std::vector<LinkInfo> links;
  const std::string context = "link #" + std::to_string(ifindex);
  auto done = transact("RTM_GETLINK", context, collect_into<LinkInfo, parse_link>, &links);
  if (!done) return tl::unexpected(std::move(done.error()));
  if (links.empty()) return fail("RTM_GETLINK", context, ENODEV);
  return links.front();
}

Expected<std::vector<LinkInfo>> Netlink::list_links() {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETLINK;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  std::vector<LinkInfo> links;
  auto done = transact("RTM_GETLINK", "dump", collect_into<LinkInfo, parse_link>, &links);
  if (!done) return tl::unexpected(std::move(done.error()));
  return links;
}

Expected<void> Netlink::set_link_up(int ifindex, bool up) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_NEWLINK;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = ifindex;
  info->ifi_change = IFF_UP;
  info->ifi_flags = up ? IFF_UP : 0;
  return transact("RTM_NEWLINK", "set link #" + std::to_string(ifindex) + (up ? " up" : " down"),
                  nullptr, nullptr);
}

Expected<void> Netlink::set_mtu(int ifindex, uint32_t mtu) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_NEWLINK;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = ifindex;
  mnl_attr_put_u32(message, IFLA_MTU, mtu);
  return transact("RTM_NEWLINK",
                  "set link #" + std::to_string(ifindex) + " mtu " + std::to_string(mtu), nullptr,
                  nullptr);
}

namespace {

void put_address_message(nlmsghdr* message, int ifindex, const InterfaceAddress& address) {
  auto* info = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  info->ifa_family = static_cast<uint8_t>(family_of(address.address));
  info->ifa_prefixlen = address.length;
  info->ifa_scope = RT_SCOPE_UNIVERSE;
  info->ifa_index = static_cast<uint32_t>(ifindex);
  put_address(message, IFA_LOCAL, address.address);
  put_address(message, IFA_ADDRESS, address.address);
}

}  // namespace

Expected<void> Netlink::add_address(int ifindex, const InterfaceAddress& address) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_NEWADDR;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  message->nlmsg_seq = ++sequence_;
  put_address_message(message, ifindex, address);
  if (address.address.is_v6()) mnl_attr_put_u32(message, IFA_FLAGS, IFA_F_NODAD);
  return transact("RTM_NEWADDR",
                  "add " + address.to_string() + " to link #" + std::to_string(ifindex), nullptr,
                  nullptr);
}

Expected<void> Netlink::delete_address(int ifindex, const InterfaceAddress& address) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_DELADDR;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  put_address_message(message, ifindex, address);
  return transact("RTM_DELADDR",
                  "delete " + address.to_string() + " from link #" + std::to_string(ifindex),
                  nullptr, nullptr);
}

Expected<std::vector<AddressInfo>> Netlink::list_addresses(int family, int ifindex) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETADDR;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  info->ifa_family = static_cast<uint8_t>(family);
  std::vector<AddressInfo> addresses;
  auto done = transact("RTM_GETADDR", "dump", collect_into<AddressInfo, parse_address>, &addresses);
  if (!done) return tl::unexpected(std::move(done.error()));
  if (ifindex != 0) {
    std::erase_if(addresses, [ifindex](const AddressInfo& a) { return a.ifindex != ifindex; });
  }
  return addresses;
}

namespace {

void put_route_message(nlmsghdr* message, const Route& route, bool for_delete) {
  auto* info = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  info->rtm_family = static_cast<uint8_t>(route.destination.is_v4() ? AF_INET : AF_INET6);
  info->rtm_dst_len = route.destination.length();
  info->rtm_table =
      route.table < 256 ? static_cast<uint8_t>(route.table) : uint8_t{RT_TABLE_UNSPEC};
  info->rtm_type = route_type_to(route.type);
  if (for_delete) {
    // As `ip route del`: match any scope and protocol.
    info->rtm_scope = RT_SCOPE_NOWHERE;
    info->rtm_protocol = RTPROT_UNSPEC;
  } else {
    info->rtm_protocol = RTPROT_STATIC;
    // A device route without a gateway is on-link, as `ip route add PREFIX dev DEV` makes it.
    info->rtm_scope = route.type == RouteType::kUnicast && !route.gateway && route.ifindex != 0
                          ? RT_SCOPE_LINK
                          : RT_SCOPE_UNIVERSE;
  }
  mnl_attr_put_u32(message, RTA_TABLE, route.table);
  if (route.destination.length() > 0) put_address(message, RTA_DST, route.destination.address());
  if (route.gateway) put_address(message, RTA_GATEWAY, *route.gateway);
  if (route.preferred_source) put_address(message, RTA_PREFSRC, *route.preferred_source);
  if (route.ifindex != 0) mnl_attr_put_u32(message, RTA_OIF, static_cast<uint32_t>(route.ifindex));
  if (route.metric) mnl_attr_put_u32(message, RTA_PRIORITY, *route.metric);
}

std::string describe(const Route& route) {
  std::string text;
  if (route.type == RouteType::kUnreachable) text += "unreachable ";
  if (route.type == RouteType::kBlackhole) text += "blackhole ";
  text += route.destination.to_string();
  if (route.gateway) text += " via " + route.gateway->to_string();
  if (route.ifindex) text += " dev #" + std::to_string(route.ifindex);
  text += " table " + std::to_string(route.table);
  if (route.metric) text += " metric " + std::to_string(*route.metric);
  return text;
}

}  // namespace

Expected<void> Netlink::add_route(const Route& route) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_NEWROUTE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  message->nlmsg_seq = ++sequence_;
  put_route_message(message, route, false);
  return transact("RTM_NEWROUTE", "add " + describe(route), nullptr, nullptr);
}

Expected<void> Netlink::delete_route(const Route& route) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_DELROUTE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  put_route_message(message, route, true);
  return transact("RTM_DELROUTE", "delete " + describe(route), nullptr, nullptr);
}

Expected<std::vector<Route>> Netlink::list_routes(int family, std::optional<uint32_t> table) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETROUTE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++sequence_;
  auto* info = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  info->rtm_family = static_cast<uint8_t>(family);
  std::vector<Route> routes;
  auto done = transact("RTM_GETROUTE", "dump", collect_into<Route, parse_route>, &routes);
  if (!done) return tl::unexpected(std::move(done.error()));
  if (table) std::erase_if(routes, [&](const Route& r) { return r.table != *table; });
  return routes;
}

Expected<std::optional<Route>> Netlink::default_route(int family) {
  auto routes = list_routes(family, kTableMain);
  if (!routes) return tl::unexpected(std::move(routes.error()));
  std::optional<Route> best;
  for (const Route& route : *routes) {
    if (route.destination.length() != 0 || route.type != RouteType::kUnicast) continue;
    if (!best || route.metric.value_or(0) < best->metric.value_or(0)) best = route;
  }
  return best;
}

namespace {

void put_rule_message(nlmsghdr* message, const Rule& rule) {
  auto* info =
      static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(message, sizeof(fib_rule_hdr)));
  info->family = static_cast<uint8_t>(rule.ipv6 ? AF_INET6 : AF_INET);
  info->action = FR_ACT_TO_TBL;
  info->table = rule.table < 256 ? static_cast<uint8_t>(rule.table) : uint8_t{RT_TABLE_UNSPEC};
  if (rule.invert) info->flags |= FIB_RULE_INVERT;
  mnl_attr_put_u32(message, FRA_TABLE, rule.table);
  if (rule.priority) mnl_attr_put_u32(message, FRA_PRIORITY, *rule.priority);
  if (rule.fwmark) {
    mnl_attr_put_u32(message, FRA_FWMARK, *rule.fwmark);
    mnl_attr_put_u32(message, FRA_FWMASK, rule.fwmask);
  }
  if (rule.suppress_prefixlength) {
    mnl_attr_put_u32(message, FRA_SUPPRESS_PREFIXLEN, *rule.suppress_prefixlength);
  }
}

std::string describe(const Rule& rule) {
  std::string text = rule.ipv6 ? "-6 " : "-4 ";
  if (rule.priority) text += "priority " + std::to_string(*rule.priority) + " ";
  if (rule.invert) text += "not ";
  if (rule.fwmark) text += "fwmark " + std::to_string(*rule.fwmark) + " ";
  text += "table " + std::to_string(rule.table);
  if (rule.suppress_prefixlength) {
    text += " suppress_prefixlength " + std::to_string(*rule.suppress_prefixlength);
  }
  return text;
}

}  // namespace

Expected<void> Netlink::add_rule(const Rule& rule) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_NEWRULE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  message->nlmsg_seq = ++sequence_;
  put_rule_message(message, rule);
  return transact("RTM_NEWRULE", "add rule " + describe(rule), nullptr, nullptr);
}

Expected<void> Netlink::delete_rule(const Rule& rule) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_DELRULE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  put_rule_message(message, rule);
  return transact("RTM_DELRULE", "delete rule " + describe(rule), nullptr, nullptr);
}

Expected<std::vector<Rule>> Netlink::list_rules(bool ipv6) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer_.data());
  message->nlmsg_type = RTM_GETRULE;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++sequence_;
  auto* info =
      static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(message, sizeof(fib_rule_hdr)));
  info->family = static_cast<uint8_t>(ipv6 ? AF_INET6 : AF_INET);
  std::vector<Rule> rules;
  auto done = transact("RTM_GETRULE", "dump", collect_into<Rule, parse_rule>, &rules);
  if (!done) return tl::unexpected(std::move(done.error()));
  return rules;
}

// ---- NetlinkMonitor ----

Expected<NetlinkMonitor> NetlinkMonitor::open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (!socket) return fail_errno("mnl_socket_open", "NETLINK_ROUTE monitor");
  NetlinkMonitor monitor(socket);
  monitor.buffer_.resize(kBufferSize);
  const unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                          RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE;
  if (mnl_socket_bind(socket, groups, MNL_SOCKET_AUTOPID) < 0) {
    return fail_errno("mnl_socket_bind", "RTMGRP link/address/route/rule");
  }
  // Groups past 32 exist only as numbers for NETLINK_ADD_MEMBERSHIP.
  int group = RTNLGRP_IPV6_RULE;
  if (mnl_socket_setsockopt(socket, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    return fail_errno("setsockopt(NETLINK_ADD_MEMBERSHIP)", "RTNLGRP_IPV6_RULE");
  }
  return monitor;
}

NetlinkMonitor::NetlinkMonitor(NetlinkMonitor&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)), buffer_(std::move(other.buffer_)) {}

NetlinkMonitor& NetlinkMonitor::operator=(NetlinkMonitor&& other) noexcept {
  if (this != &other) {
    if (socket_) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

NetlinkMonitor::~NetlinkMonitor() {
  if (socket_) mnl_socket_close(socket_);
}

int NetlinkMonitor::fd() const noexcept {
  return mnl_socket_get_fd(socket_);
}

namespace {

int collect_event(const nlmsghdr* message, void* data) {
  auto& events = *static_cast<std::vector<NetlinkEvent>*>(data);
  NetlinkEvent event;
  switch (message->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      event.kind = NetlinkEvent::Kind::kLink;
      event.removed = message->nlmsg_type == RTM_DELLINK;
      event.ifindex = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message))->ifi_index;
      break;
    }
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      event.kind = NetlinkEvent::Kind::kAddress;
      event.removed = message->nlmsg_type == RTM_DELADDR;
      if (auto address = parse_address(message)) {
        event.family = family_of(address->address.address);
        event.ifindex = address->ifindex;
        event.prefix = IpPrefix(address->address.address, address->address.address.bit_length());
      }
      break;
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      event.kind = NetlinkEvent::Kind::kRoute;
      event.removed = message->nlmsg_type == RTM_DELROUTE;
      event.family = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(message))->rtm_family;
      if (auto route = parse_route(message)) {
        event.ifindex = route->ifindex;
        event.prefix = route->destination;
      }
      break;
    }
    case RTM_NEWRULE:
    case RTM_DELRULE: {
      event.kind = NetlinkEvent::Kind::kRule;
      event.removed = message->nlmsg_type == RTM_DELRULE;
      event.family = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(message))->family;
      break;
    }
    default:
      return MNL_CB_OK;
  }
  events.push_back(event);
  return MNL_CB_OK;
}

}  // namespace

Expected<size_t> NetlinkMonitor::read_events(std::vector<NetlinkEvent>& events) {
  const size_t before = events.size();
  for (;;) {
    const ssize_t received = mnl_socket_recvfrom(socket_, buffer_.data(), buffer_.size());
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        NetlinkEvent overrun;
        overrun.kind = NetlinkEvent::Kind::kOverrun;
        events.push_back(overrun);
        continue;
      }
      return fail_errno("recv", "NETLINK_ROUTE monitor");
    }
    // Notifications carry sequence 0 and port 0: accept any (libmnl skips the check for 0).
    if (mnl_cb_run(buffer_.data(), static_cast<size_t>(received), 0, 0, collect_event, &events) ==
        MNL_CB_ERROR) {
      return fail_errno("mnl_cb_run", "NETLINK_ROUTE monitor");
    }
  }
  return events.size() - before;
}

}  // namespace slirpvpn::net
