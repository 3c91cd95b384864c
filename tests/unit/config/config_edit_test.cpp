// SPDX-License-Identifier: MIT
// Section edits keep every other byte; the atomic rewrite keeps mode and leaves no temporary.
#include "config/config_edit.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/server_config.h"

namespace slirpvpn::config {
namespace {

constexpr const char* kKeyA = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
constexpr const char* kKeyB = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

crypto::PublicKey key(const char* text) {
  return crypto::PublicKey{*crypto::decode_key(text)};
}

const std::string kOriginal = std::string(
                                  "# wg0: the office server\n"
                                  "[Interface]\n"
                                  "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
                                  "ListenPort = 51820   # the usual\n"
                                  "\n"
                                  "# alice's laptop\n"
                                  "[Peer]\n"
                                  "Name = alice\n"
                                  "PublicKey = ") +
                              kKeyA +
                              "\n"
                              "AllowedIPs = 10.0.2.15/32\n"
                              "\n"
                              "# closing remark\n";

TEST(ConfigEdit, AppendThenRemoveIsByteIdentical) {
  const std::string section = render_peer_section("bob", key(kKeyB), {}, "added by a test");
  const std::string added = append_section(kOriginal, section);
  EXPECT_EQ(added.substr(0, kOriginal.size()), kOriginal);
  EXPECT_EQ(added.substr(kOriginal.size()), "\n" + section);
  auto parsed = parse_server_config(added, "t.conf");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_EQ(parsed->peers.size(), 2u);
  EXPECT_EQ(parsed->peers[1].name, "bob");
  EXPECT_EQ(parsed->peers[1].public_key, key(kKeyB));

  auto by_name = remove_peer_section(added, "t.conf", PeerSelector{"bob", std::nullopt});
  ASSERT_TRUE(by_name) << by_name.error().to_string();
  EXPECT_EQ(by_name->text, kOriginal);
  EXPECT_EQ(by_name->public_key, key(kKeyB));
  auto by_key = remove_peer_section(added, "t.conf", PeerSelector{std::nullopt, key(kKeyB)});
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->text, kOriginal);
}

TEST(ConfigEdit, AppendAfterALastLineWithoutNewline) {
  EXPECT_EQ(append_section("[Interface]\nListenPort = 1", "[Peer]\n"),
            "[Interface]\nListenPort = 1\n\n[Peer]\n");
  EXPECT_EQ(append_section("", "[Peer]\n"), "[Peer]\n");
}

TEST(ConfigEdit, RemovingAMiddlePeerKeepsTheNextOnesComments) {
  const std::string text =
      append_section(kOriginal, "# bob's phone\n[Peer]\nPublicKey = " + std::string(kKeyB) + "\n");
  auto removed = remove_peer_section(text, "t.conf", PeerSelector{"alice", std::nullopt});
  ASSERT_TRUE(removed) << removed.error().to_string();
  EXPECT_EQ(removed->text, std::string("# wg0: the office server\n"
                                       "[Interface]\n"
                                       "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
                                       "ListenPort = 51820   # the usual\n"
                                       "\n"
                                       "# closing remark\n"
                                       "\n"
                                       "# bob's phone\n"
                                       "[Peer]\n"
                                       "PublicKey = ") +
                               kKeyB + "\n");
  EXPECT_EQ(removed->line, 7);
}

TEST(ConfigEdit, RemoveFailsForNoneOrTwoMatches) {
  auto none = remove_peer_section(kOriginal, "t.conf", PeerSelector{"carol", std::nullopt});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().to_string().find("no [Peer] with Name = carol"), std::string::npos);
  const std::string twice =
      append_section(kOriginal, "[Peer]\nName = alice\nPublicKey = " + std::string(kKeyB) + "\n");
  auto two = remove_peer_section(twice, "t.conf", PeerSelector{"alice", std::nullopt});
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().line, 14);
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/config_edit_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::string command = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    DIR* directory = ::opendir(dir_.c_str());
    while (const dirent* entry = ::readdir(directory)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(directory);
    return names;
  }
  std::string dir_;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(TempDir, AtomicWriteKeepsModeAndLeavesNoTemporary) {
  const std::string path = dir_ + "/wg0.conf";
  { std::ofstream(path) << "old\n"; }
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_TRUE(write_file_atomically(path, "new text\n"));
  EXPECT_EQ(read(path), "new text\n");
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode & 07777, 0640u);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_NE(after.st_ino, before.st_ino);  // replaced by rename, not rewritten in place
  EXPECT_EQ(entries(), std::vector<std::string>{"wg0.conf"});
}

TEST_F(TempDir, AtomicWriteFollowsASymlinkToTheRealFile) {
  const std::string real = dir_ + "/real.conf";
  const std::string link = dir_ + "/link.conf";
  { std::ofstream(real) << "old\n"; }
  ASSERT_EQ(::chmod(real.c_str(), 0600), 0);
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  ASSERT_TRUE(write_file_atomically(link, "new\n"));
  EXPECT_EQ(read(real), "new\n");
  struct stat status {};
  ASSERT_EQ(::lstat(link.c_str(), &status), 0);
  EXPECT_TRUE(S_ISLNK(status.st_mode));
}

TEST_F(TempDir, AtomicWriteOfAMissingFileFailsAndCreatesNothing) {
  EXPECT_FALSE(write_file_atomically(dir_ + "/absent.conf", "x"));
  EXPECT_TRUE(entries().empty());
}

}  // namespace
}  // namespace slirpvpn::config
