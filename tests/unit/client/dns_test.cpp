// SPDX-License-Identifier: MIT
// resolv.conf rendering and the in-place rewrite: same inode, original bytes back exactly.
#include "client/dns.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slirpvpn::client {
namespace {

class DnsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(::mkdtemp(directory_), nullptr);
    resolv_ = std::string(directory_) + "/resolv.conf";
    backup_ = std::string(directory_) + "/wg0.resolv.conf";
    journal_path_ = std::string(directory_) + "/wg0.state";
  }
  void TearDown() override {
    ::unlink(resolv_.c_str());
    ::unlink(backup_.c_str());
    ::unlink(journal_path_.c_str());
    ::rmdir(directory_);
  }
  ino_t inode() const {
    struct stat st {};
    ::stat(resolv_.c_str(), &st);
    return st.st_ino;
  }

  char directory_[32] = "/tmp/slirpvpn-dns-XXXXXX";
  std::string resolv_, backup_, journal_path_;
};

TEST(RenderResolvConf, NameserversThenSearch) {
  const auto text =
      render_resolv_conf({*net::IpAddress::parse("10.0.2.3"), *net::IpAddress::parse("fec0::3")},
                         {"corp.example", "example.test"}, "wg0");
  EXPECT_EQ(text,
            "# Written by slirpvpn client for wg0; the original comes back when it stops.\n"
            "nameserver 10.0.2.3\nnameserver fec0::3\nsearch corp.example example.test\n");
  EXPECT_EQ(render_resolv_conf({*net::IpAddress::parse("10.0.2.3")}, {}, "x").find("search"),
            std::string::npos);
}

TEST_F(DnsFiles, InPlaceApplyAndUndoRestoreBytesAndInode) {
  // No trailing newline and odd spacing: the restore must be byte for byte.
  const std::string original = "# host\nnameserver 198.51.100.53\n options  edns0";
  ASSERT_TRUE(write_new_file(resolv_, original));
  const ino_t before = inode();
  auto journal = HostJournal::open(journal_path_);
  ASSERT_TRUE(journal);
  DnsSettings settings{{*net::IpAddress::parse("10.0.2.3")}, {}, "wg0", resolv_, backup_};
  ASSERT_TRUE(apply_dns(settings, DnsChange::Method::kInPlace, *journal));
  EXPECT_EQ(*read_whole_file(resolv_),
            render_resolv_conf(settings.servers, settings.search, "wg0"));
  EXPECT_EQ(inode(), before);
  EXPECT_EQ(*read_whole_file(backup_), original);
  // The journal names the backup, so --down after a crash can restore it.
  auto entries = HostJournal::read(journal_path_);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  const auto& change = std::get<DnsChange>(entries->front());
  EXPECT_EQ(change.backup, backup_);

  ASSERT_TRUE(undo_dns(change));
  EXPECT_EQ(*read_whole_file(resolv_), original);
  EXPECT_EQ(inode(), before);
  EXPECT_NE(::access(backup_.c_str(), F_OK), 0);
  // A second undo (a --down after a clean stop) finds no backup and changes nothing.
  ASSERT_TRUE(undo_dns(change));
  EXPECT_EQ(*read_whole_file(resolv_), original);
}

TEST_F(DnsFiles, MissingResolvConfIsAnError) {
  auto journal = HostJournal::open(journal_path_);
  ASSERT_TRUE(journal);
  DnsSettings settings{{*net::IpAddress::parse("10.0.2.3")}, {}, "wg0", resolv_, backup_};
  EXPECT_FALSE(apply_dns(settings, DnsChange::Method::kInPlace, *journal));
  EXPECT_TRUE(journal->entries().empty());
}

}  // namespace
}  // namespace slirpvpn::client
