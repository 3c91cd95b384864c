// SPDX-License-Identifier: MIT
// The journal of what the client changed on the host (routes, rules, sysctls, DNS, nft), kept
// in a state file so that a normal stop, `slirpvpn client --down` or the next start after a
// crash can undo exactly that.
//
// Theory of operation
//   Every change is recorded (appended and fsync'd) BEFORE it is made, so a crash between the
//   two leaves at most an entry whose undo finds nothing to remove (ESRCH and friends are
//   ignored by the undoer). Undo runs the entries in reverse order. The file is plain text, one
//   change per line, so an operator can read it:
//     route 0.0.0.0/0 table 51820 type unicast dev 7
//     rule 4 table 51820 fwmark 51820 invert 1 suppress -
//     sysctl /proc/sys/net/ipv4/conf/all/src_valid_mark 0
//     dns inplace /etc/resolv.conf /run/slirpvpn/wg0.resolv.conf
//     dns resolvconf wg0
//     nft slirpvpn_wg0
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "net/netlink.h"

namespace slirpvpn::client {

// Equality over the fields the journal keeps (net::Route and net::Rule define none).
struct RouteChange {
  net::Route route;
  friend bool operator==(const RouteChange& a, const RouteChange& b) {
    return a.route.destination == b.route.destination && a.route.table == b.route.table &&
           a.route.type == b.route.type && a.route.ifindex == b.route.ifindex;
  }
};
struct RuleChange {
  net::Rule rule;
  friend bool operator==(const RuleChange& a, const RuleChange& b) {
    return a.rule.ipv6 == b.rule.ipv6 && a.rule.table == b.rule.table &&
           a.rule.fwmark == b.rule.fwmark && a.rule.invert == b.rule.invert &&
           a.rule.suppress_prefixlength == b.rule.suppress_prefixlength;
  }
};
struct SysctlChange {
  std::string path;       // under /proc/sys
  std::string old_value;  // without the trailing newline
  friend bool operator==(const SysctlChange&, const SysctlChange&) = default;
};
struct DnsChange {
  enum class Method : uint8_t { kInPlace, kResolvconf, kSystemdResolved };
  Method method = Method::kInPlace;
  std::string target;  // kInPlace: the resolv.conf path; otherwise the interface name
  std::string backup;  // kInPlace: the backup file with the original bytes
  friend bool operator==(const DnsChange&, const DnsChange&) = default;
};
struct NftChange {
  std::string table;  // an inet table of ours
  friend bool operator==(const NftChange&, const NftChange&) = default;
};

using HostChange = std::variant<RouteChange, RuleChange, SysctlChange, DnsChange, NftChange>;

// One journal line (no newline) and back. Paths and names must not contain whitespace (ours
// never do). parse_host_change returns nullopt for a line it does not understand.
std::string format_host_change(const HostChange& change);
std::optional<HostChange> parse_host_change(std::string_view line);

// An append-only journal file. Move-only; one thread.
class HostJournal {
 public:
  // Opens (creating, mode 0600) `path` for appending.
  static Expected<HostJournal> open(const std::string& path);
  // Every entry of `path`; an absent file is an empty journal. Unknown lines are skipped.
  static Expected<std::vector<HostChange>> read(const std::string& path);

  HostJournal(HostJournal&& other) noexcept;
  HostJournal& operator=(HostJournal&& other) noexcept;
  HostJournal(const HostJournal&) = delete;
  HostJournal& operator=(const HostJournal&) = delete;
  ~HostJournal();

  // Appends one entry and fsyncs, so it survives a kill -9 right after.
  Expected<void> record(const HostChange& change);
  const std::vector<HostChange>& entries() const noexcept { return entries_; }
  const std::string& path() const noexcept { return path_; }

 private:
  HostJournal(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
  std::vector<HostChange> entries_;
};

}  // namespace slirpvpn::client
