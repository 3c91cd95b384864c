// SPDX-License-Identifier: MIT
// Journal lines round-trip, unknown lines are refused, and the journal file survives reopening.
#include "client/host_changes.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

namespace slirpvpn::client {
namespace {

std::vector<HostChange> samples() {
  net::Route unicast;
  unicast.destination = *net::IpPrefix::parse("0.0.0.0/0");
  unicast.table = 51820;
  unicast.ifindex = 7;
  net::Route unreachable;
  unreachable.destination = *net::IpPrefix::parse("::/0");
  unreachable.table = 51820;
  unreachable.type = net::RouteType::kUnreachable;
  net::Rule not_fwmark;
  not_fwmark.fwmark = 51820;
  not_fwmark.invert = true;
  not_fwmark.table = 51820;
  net::Rule suppress;
  suppress.ipv6 = true;
  suppress.suppress_prefixlength = 0;
  return {
      RouteChange{unicast},
      RouteChange{unreachable},
      RuleChange{not_fwmark},
      RuleChange{suppress},
      SysctlChange{"/proc/sys/net/ipv4/conf/all/src_valid_mark", "0"},
      DnsChange{DnsChange::Method::kInPlace, "/etc/resolv.conf", "/run/slirpvpn/wg0.resolv.conf"},
      DnsChange{DnsChange::Method::kResolvconf, "wg0", ""},
      DnsChange{DnsChange::Method::kSystemdResolved, "wg0", ""},
      NftChange{"slirpvpn_wg0"}};
}

TEST(HostChange, LinesRoundTrip) {
  for (const auto& change : samples()) {
    const std::string line = format_host_change(change);
    const auto parsed = parse_host_change(line);
    ASSERT_TRUE(parsed) << line;
    EXPECT_EQ(*parsed, change) << line;
  }
}

TEST(HostChange, ReadableLines) {
  EXPECT_EQ(format_host_change(samples()[0]), "route 0.0.0.0/0 table 51820 type unicast dev 7");
  EXPECT_EQ(format_host_change(samples()[2]),
            "rule 4 table 51820 fwmark 51820 invert 1 suppress -");
}

TEST(HostChange, GarbageIsRefused) {
  for (const char* line : {"", "route", "route 0.0.0.0/0 table x type unicast dev 7",
                           "rule 5 table 1 fwmark - invert 0 suppress -", "sysctl /etc/passwd 0",
                           "dns carrier-pigeon wg0", "nft", "reboot now"}) {
    EXPECT_FALSE(parse_host_change(line)) << line;
  }
}

TEST(HostJournal, RecordsSurviveReopening) {
  char directory[] = "/tmp/slirpvpn-journal-XXXXXX";
  ASSERT_NE(::mkdtemp(directory), nullptr);
  const std::string path = std::string(directory) + "/wg0.state";
  {
    auto journal = HostJournal::open(path);
    ASSERT_TRUE(journal) << journal.error().message();
    for (const auto& change : samples()) ASSERT_TRUE(journal->record(change));
  }
  auto read = HostJournal::read(path);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, samples());
  auto reopened = HostJournal::open(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->entries().size(), samples().size());
  ::unlink(path.c_str());
  ::rmdir(directory);
  auto absent = HostJournal::read(path);
  ASSERT_TRUE(absent);
  EXPECT_TRUE(absent->empty());
}

}  // namespace
}  // namespace slirpvpn::client
