// SPDX-License-Identifier: MIT
// resolv.conf in place, resolvconf and systemd-resolved (see dns.h).
#include "client/dns.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

extern char** environ;

namespace slirpvpn::client {
namespace {

// /proc/self/mountinfo field 5 is the mount point.
bool is_mount_point(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    if (fields >> id >> parent >> device >> root >> mount_point && mount_point == path) {
      return true;
    }
  }
  return false;
}

bool executable_in_path(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs argv[0] (searched in PATH) with `input` on its stdin; succeeds on exit status 0.
Expected<void> run_program(const std::vector<std::string>& argv, std::string_view input) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe", argv[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[1]);
    return fail("run", argv[0], rc);
  }
  size_t done = 0;
  while (done < input.size()) {
    const ssize_t n = ::write(pipe_fds[1], input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += size_t(n);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("run",
                argv[0] + " failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
  }
  return {};
}

}  // namespace

std::string render_resolv_conf(const std::vector<net::IpAddress>& servers,
                               const std::vector<std::string>& search, std::string_view interface) {
  std::string text = "# Written by slirpvpn client for " + std::string(interface) +
                     "; the original comes back when it stops.\n";
  for (const auto& server : servers) text += "nameserver " + server.to_string() + "\n";
  if (!search.empty()) {
    text += "search";
    for (const auto& domain : search) text += " " + domain;
    text += "\n";
  }
  return text;
}

DnsChange::Method choose_dns_method(const std::string& resolv_conf) {
  if (is_mount_point(resolv_conf)) return DnsChange::Method::kInPlace;
  struct stat st {};
  if (::stat("/run/systemd/resolve", &st) == 0 && S_ISDIR(st.st_mode) &&
      executable_in_path("resolvectl")) {
    return DnsChange::Method::kSystemdResolved;
  }
  if (executable_in_path("resolvconf")) return DnsChange::Method::kResolvconf;
  return DnsChange::Method::kInPlace;
}

Expected<std::string> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("read", path);
  std::string bytes;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return fail("read", path, saved);
    }
    if (n == 0) break;
    bytes.append(buffer, size_t(n));
  }
  ::close(fd);
  return bytes;
}

namespace {
Expected<void> write_all(int fd, std::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write", path);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) return fail_errno("fsync", path);
  return {};
}
}  // namespace

Expected<void> rewrite_in_place(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return fail_errno("rewrite", path);
  auto result = write_all(fd, bytes, path);
  ::close(fd);
  return result;
}

Expected<void> write_new_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno("create", path);
  auto result = write_all(fd, bytes, path);
  ::close(fd);
  return result;
}

Expected<void> apply_dns(const DnsSettings& settings, DnsChange::Method method,
                         HostJournal& journal) {
  DnsChange change;
  change.method = method;
  switch (method) {
    case DnsChange::Method::kInPlace: {
      change.target = settings.resolv_conf;
      change.backup = settings.backup;
      auto original = read_whole_file(settings.resolv_conf);
      if (!original) return tl::unexpected(original.error());
      // Backup first, then the journal entry: undo restores only from a complete backup.
      if (auto saved = write_new_file(settings.backup, *original); !saved) return saved;
      if (auto recorded = journal.record(change); !recorded) return recorded;
      return rewrite_in_place(
          settings.resolv_conf,
          render_resolv_conf(settings.servers, settings.search, settings.interface));
    }
    case DnsChange::Method::kResolvconf: {
      change.target = settings.interface;
      if (auto recorded = journal.record(change); !recorded) return recorded;
      return run_program({"resolvconf", "-a", settings.interface, "-m", "0", "-x"},
                         render_resolv_conf(settings.servers, settings.search, settings.interface));
    }
    case DnsChange::Method::kSystemdResolved: {
      change.target = settings.interface;
      if (auto recorded = journal.record(change); !recorded) return recorded;
      std::vector<std::string> dns = {"resolvectl", "dns", settings.interface};
      for (const auto& server : settings.servers) dns.push_back(server.to_string());
      if (auto ok = run_program(dns, {}); !ok) return ok;
      // "~." routes every query to this link, so no other link's server sees one.
      std::vector<std::string> domain = {"resolvectl", "domain", settings.interface, "~."};
      for (const auto& name : settings.search) domain.push_back(name);
      if (auto ok = run_program(domain, {}); !ok) return ok;
      return run_program({"resolvectl", "default-route", settings.interface, "yes"}, {});
    }
  }
  return {};
}

Expected<void> undo_dns(const DnsChange& change) {
  switch (change.method) {
    case DnsChange::Method::kInPlace: {
      if (::access(change.backup.c_str(), F_OK) != 0) return {};
      auto original = read_whole_file(change.backup);
      if (!original) return tl::unexpected(original.error());
      if (auto restored = rewrite_in_place(change.target, *original); !restored) return restored;
      ::unlink(change.backup.c_str());
      return {};
    }
    case DnsChange::Method::kResolvconf:
      return run_program({"resolvconf", "-d", change.target, "-f"}, {});
    case DnsChange::Method::kSystemdResolved:
      // Gone with the link; revert in case the link still exists (a --down while it runs).
      (void)run_program({"resolvectl", "revert", change.target}, {});
      return {};
  }
  return {};
}

}  // namespace slirpvpn::client
