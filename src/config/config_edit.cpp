// SPDX-License-Identifier: MIT
// Section-level edits of configuration text and the atomic rewrite of a file.
#include "config/config_edit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include "config/ini.h"
#include "config/keys.h"
#include "config/section.h"

namespace slirpvpn::config {
namespace {

// Byte offsets of each line's start; line n (1-based) is [starts[n-1], starts[n]).
std::vector<size_t> line_starts(std::string_view text) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' && i + 1 < text.size()) starts.push_back(i + 1);
  starts.push_back(text.size());
  return starts;
}

std::string_view line_at(std::string_view text, const std::vector<size_t>& starts, int line) {
  return text.substr(starts[size_t(line) - 1], starts[size_t(line)] - starts[size_t(line) - 1]);
}

bool is_blank(std::string_view line) {
  return trim(line.substr(0, line.find_first_of("\r\n"))).empty();
}

bool is_comment(std::string_view line) {
  const auto content = trim(line.substr(0, line.find_first_of("\r\n")));
  return !content.empty() && content.front() == '#';
}

bool matches(const IniSection& section, const PeerSelector& selector,
             std::optional<crypto::PublicKey>& key) {
  key.reset();
  if (const IniEntry* entry = find_entry(section, "PublicKey")) {
    if (auto parsed = parse_public_key(entry->value)) key = *parsed;
  }
  if (selector.public_key) return key && *key == *selector.public_key;
  const IniEntry* name = find_entry(section, "Name");
  return selector.name && name && name->value == *selector.name;
}

}  // namespace

std::string append_section(std::string_view text, std::string_view section) {
  std::string out(text);
  if (!out.empty() && out.back() != '\n') out += '\n';
  if (!out.empty()) out += '\n';
  out += section;
  return out;
}

std::string render_peer_section(std::string_view name, const crypto::PublicKey& public_key,
                                const std::vector<net::IpPrefix>& allowed_ips,
                                std::string_view comment) {
  std::string out = "[Peer]\n";
  if (!comment.empty()) out += "# " + std::string(comment) + "\n";
  if (!name.empty()) out += "Name = " + std::string(name) + "\n";
  out += "PublicKey = " + crypto::encode_key(public_key.span()) + "\n";
  if (!allowed_ips.empty()) {
    out += "AllowedIPs = ";
    for (size_t i = 0; i < allowed_ips.size(); ++i)
      out += (i ? ", " : "") + allowed_ips[i].to_string();
    out += "\n";
  }
  return out;
}

ConfigExpected<RemovedPeer> remove_peer_section(std::string_view text, std::string_view file,
                                                const PeerSelector& selector) {
  auto document = parse_ini(text, file);
  if (!document) return tl::unexpected(document.error());
  const std::string what = selector.public_key
                               ? "PublicKey " + crypto::encode_key(selector.public_key->span())
                               : "Name = " + selector.name.value_or("");
  const IniSection* found = nullptr;
  const IniSection* next = nullptr;
  crypto::PublicKey found_key;
  const auto& sections = document->sections;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (!equals_ignore_case(sections[i].name, "Peer")) continue;
    std::optional<crypto::PublicKey> key;
    if (!matches(sections[i], selector, key)) continue;
    if (found) {
      return config_fail(std::string(file), sections[i].line,
                         "a second [Peer] with " + what + " (the first is at line " +
                             std::to_string(found->line) + "): remove it by --public-key");
    }
    found = &sections[i];
    next = i + 1 < sections.size() ? &sections[i + 1] : nullptr;
    if (key) found_key = *key;
  }
  if (!found) return config_fail(std::string(file), 0, "no [Peer] with " + what);

  const auto starts = line_starts(text);
  const int last_line = int(starts.size()) - 1;
  int first = found->line;
  while (first > 1 && is_comment(line_at(text, starts, first - 1))) --first;
  if (first > 1 && is_blank(line_at(text, starts, first - 1))) --first;
  int last = next ? next->line - 1 : last_line;
  while (last > found->line &&
         (is_blank(line_at(text, starts, last)) || is_comment(line_at(text, starts, last)))) {
    --last;
  }
  RemovedPeer removed;
  removed.text = std::string(text.substr(0, starts[size_t(first) - 1]));
  removed.text += text.substr(starts[size_t(last)]);
  removed.public_key = found_key;
  removed.line = found->line;
  return removed;
}

Expected<void> write_file_atomically(const std::string& path, std::string_view text) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return fail_errno("realpath", path);
  const std::string target(real);
  struct stat original {};
  if (::stat(target.c_str(), &original) != 0) return fail_errno("stat", target);
  const auto directory = std::filesystem::path(target).parent_path().string();
  std::string temporary =
      directory + "/." + std::filesystem::path(target).filename().string() + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return fail_errno("create temporary file", temporary);
  const auto abandon = [&](const char* operation) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return fail(operation, temporary, error);
  };
  // mkostemp creates 0600: the key material never sits in a more open file, even briefly.
  if (::fchmod(fd, original.st_mode & 07777) != 0) return abandon("fchmod");
  if (::fchown(fd, original.st_uid, original.st_gid) != 0 && errno != EPERM)
    return abandon("fchown");
  for (std::string_view left = text; !left.empty();) {
    const ssize_t written = ::write(fd, left.data(), left.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return abandon("write");
    left.remove_prefix(size_t(written));
  }
  if (::fsync(fd) != 0) return abandon("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return fail("close", temporary, error);
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return fail("rename", temporary + " -> " + target, error);
  }
  // The rename itself is durable only once the directory is.
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd >= 0) {
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
  return {};
}

}  // namespace slirpvpn::config
