// SPDX-License-Identifier: MIT
// Journal lines for host changes, and the append-only journal file.
#include "client/host_changes.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace slirpvpn::client {
namespace {

const char* route_type_name(net::RouteType type) {
  switch (type) {
    case net::RouteType::kUnicast:
      return "unicast";
    case net::RouteType::kUnreachable:
      return "unreachable";
    case net::RouteType::kBlackhole:
      return "blackhole";
    case net::RouteType::kOther:
      break;
  }
  return "other";
}

std::optional<net::RouteType> parse_route_type(std::string_view text) {
  if (text == "unicast") return net::RouteType::kUnicast;
  if (text == "unreachable") return net::RouteType::kUnreachable;
  if (text == "blackhole") return net::RouteType::kBlackhole;
  return std::nullopt;
}

const char* dns_method_name(DnsChange::Method method) {
  switch (method) {
    case DnsChange::Method::kInPlace:
      return "inplace";
    case DnsChange::Method::kResolvconf:
      return "resolvconf";
    case DnsChange::Method::kSystemdResolved:
      return "resolved";
  }
  return "inplace";
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::optional<uint32_t>> parse_optional_number(std::string_view text) {
  // Built in place: GCC 12 at -O2 misreports a moved-in empty inner optional as uninitialised.
  std::optional<std::optional<uint32_t>> result;
  if (text == "-") {
    result.emplace();
    return result;
  }
  const auto value = parse_number<uint32_t>(text);
  if (value) result.emplace(*value);
  return result;
}

std::string optional_text(const std::optional<uint32_t>& value) {
  return value ? std::to_string(*value) : std::string("-");
}

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> result;
  std::istringstream in{std::string(line)};
  std::string word;
  while (in >> word) result.push_back(word);
  return result;
}

}  // namespace

std::string format_host_change(const HostChange& change) {
  if (const auto* route = std::get_if<RouteChange>(&change)) {
    const auto& r = route->route;
    return "route " + r.destination.to_string() + " table " + std::to_string(r.table) + " type " +
           route_type_name(r.type) + " dev " + std::to_string(r.ifindex);
  }
  if (const auto* rule = std::get_if<RuleChange>(&change)) {
    const auto& r = rule->rule;
    return std::string("rule ") + (r.ipv6 ? "6" : "4") + " table " + std::to_string(r.table) +
           " fwmark " + optional_text(r.fwmark) + " invert " + (r.invert ? "1" : "0") +
           " suppress " + optional_text(r.suppress_prefixlength);
  }
  if (const auto* sysctl = std::get_if<SysctlChange>(&change)) {
    return "sysctl " + sysctl->path + " " + sysctl->old_value;
  }
  if (const auto* dns = std::get_if<DnsChange>(&change)) {
    std::string line = std::string("dns ") + dns_method_name(dns->method) + " " + dns->target;
    if (!dns->backup.empty()) line += " " + dns->backup;
    return line;
  }
  return "nft " + std::get<NftChange>(change).table;
}

std::optional<HostChange> parse_host_change(std::string_view line) {
  const auto w = words(line);
  if (w.empty()) return std::nullopt;
  if (w[0] == "route" && w.size() == 8 && w[2] == "table" && w[4] == "type" && w[6] == "dev") {
    const auto destination = net::IpPrefix::parse(w[1]);
    const auto table = parse_number<uint32_t>(w[3]);
    const auto type = parse_route_type(w[5]);
    const auto ifindex = parse_number<int>(w[7]);
    if (!destination || !table || !type || !ifindex) return std::nullopt;
    net::Route route;
    route.destination = *destination;
    route.table = *table;
    route.type = *type;
    route.ifindex = *ifindex;
    return RouteChange{route};
  }
  if (w[0] == "rule" && w.size() == 10 && w[2] == "table" && w[4] == "fwmark" && w[6] == "invert" &&
      w[8] == "suppress") {
    const auto table = parse_number<uint32_t>(w[3]);
    const auto fwmark = parse_optional_number(w[5]);
    const auto suppress = parse_optional_number(w[9]);
    if ((w[1] != "4" && w[1] != "6") || !table || !fwmark || !suppress ||
        (w[7] != "0" && w[7] != "1")) {
      return std::nullopt;
    }
    net::Rule rule;
    rule.ipv6 = w[1] == "6";
    rule.table = *table;
    rule.fwmark = *fwmark;
    rule.invert = w[7] == "1";
    rule.suppress_prefixlength = *suppress;
    return RuleChange{rule};
  }
  if (w[0] == "sysctl" && w.size() == 3 && w[1].starts_with("/proc/sys/")) {
    return SysctlChange{w[1], w[2]};
  }
  if (w[0] == "dns" && w.size() >= 3) {
    DnsChange dns;
    dns.target = w[2];
    if (w[1] == "inplace" && w.size() == 4) {
      dns.method = DnsChange::Method::kInPlace;
      dns.backup = w[3];
      return dns;
    }
    if (w.size() != 3) return std::nullopt;
    if (w[1] == "resolvconf") {
      dns.method = DnsChange::Method::kResolvconf;
      return dns;
    }
    if (w[1] == "resolved") {
      dns.method = DnsChange::Method::kSystemdResolved;
      return dns;
    }
    return std::nullopt;
  }
  if (w[0] == "nft" && w.size() == 2) return NftChange{w[1]};
  return std::nullopt;
}

Expected<HostJournal> HostJournal::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("open state file", path);
  HostJournal journal(fd, path);
  auto existing = read(path);
  if (existing) journal.entries_ = std::move(*existing);
  return journal;
}

Expected<std::vector<HostChange>> HostJournal::read(const std::string& path) {
  std::vector<HostChange> changes;
  std::ifstream in(path);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return changes;
    return fail_errno("read state file", path);
  }
  std::string line;
  while (std::getline(in, line)) {
    if (auto change = parse_host_change(line)) changes.push_back(std::move(*change));
  }
  return changes;
}

HostJournal::HostJournal(HostJournal&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      entries_(std::move(other.entries_)) {}

HostJournal& HostJournal::operator=(HostJournal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    entries_ = std::move(other.entries_);
  }
  return *this;
}

HostJournal::~HostJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<void> HostJournal::record(const HostChange& change) {
  const std::string line = format_host_change(change) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write state file", path_);
    }
    done += size_t(n);
  }
  if (::fsync(fd_) != 0) return fail_errno("fsync state file", path_);
  entries_.push_back(change);
  return {};
}

}  // namespace slirpvpn::client
