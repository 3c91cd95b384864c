// SPDX-License-Identifier: MIT
// The sandbox, installed for real in forked children: allowed calls work, others fail or kill.
#include "server/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace slirpvpn::server {
namespace {

// Runs body in a forked child (the filter is irreversible) and returns its wait status. The
// child reports through its exit code only: gtest's machinery is not used after the fork.
int in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  EXPECT_GT(pid, 0) << std::strerror(errno);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

// The value of a "Name:\tvalue" line of /proc/self/status, read with plain read() (allowed).
std::string status_field(const char* name) {
  const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "open failed";
  char buffer[8192];
  const ssize_t length = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  if (length <= 0) return "read failed";
  buffer[length] = '\0';
  const std::string text(buffer);
  const auto at = text.find(std::string("\n") + name + ":");
  if (at == std::string::npos) return "missing";
  auto begin = text.find_first_not_of(" \t", at + std::strlen(name) + 2);
  return text.substr(begin, text.find('\n', begin) - begin);
}

bool refused_with_eperm(long result) {
  return result == -1 && errno == EPERM;
}

TEST(Sandbox, ExecveKillsTheProcess) {
  const int status = in_child([] {
    if (!install_seccomp_filter()) return 90;
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, environ);
    return errno == EPERM ? 92 : 91;  // still alive: the filter did not kill
  });
  if (sandbox_relaxed_for_sanitizers()) {
    // The symbolizer's execve is refused, not fatal, in sanitizer builds.
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 92);
    return;
  }
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit code " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Sandbox, PtraceKillsTheProcess) {
  if (sandbox_relaxed_for_sanitizers()) GTEST_SKIP() << "LeakSanitizer needs ptrace";
  const int status = in_child([] {
    if (!install_seccomp_filter()) return 90;
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    return 91;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit code " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Sandbox, NamespaceChangeKillsTheProcess) {
  // Killed in every build, sanitizers included.
  const int status = in_child([] {
    if (!install_seccomp_filter()) return 90;
    ::unshare(CLONE_NEWUSER);
    return 91;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit code " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Sandbox, WithoutTheFilterExecveRuns) {
  // The control for the two tests above: the same child without the filter execs /bin/true.
  const int status = in_child([] {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", argv, environ);
    return 91;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Sandbox, ServerCallsWorkOthersFailWithEperm) {
  const int status = in_child([] {
    auto rules = install_seccomp_filter();
    if (!rules || *rules < 50) return 90;
    if (status_field("Seccomp") != "2") return 1;
    if (status_field("NoNewPrivs") != "1") return 2;
    // What libslirp and the event loop do.
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (udp < 0) return 3;
    const int tcp6 = ::socket(AF_INET6, SOCK_STREAM, 0);
    if (tcp6 < 0) return 4;
    if (::fcntl(tcp6, F_SETFL, ::fcntl(tcp6, F_GETFL) | O_NONBLOCK) != 0) return 5;
    int queued = -1;
    if (::ioctl(udp, FIONREAD, &queued) != 0 || queued != 0) return 6;
    const int unix_socket = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (unix_socket < 0) return 7;
    void* memory =
        ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 8;
    void* heap = std::malloc(64 << 20);  // large: glibc takes it from mmap
    if (!heap) return 9;
    std::free(heap);
    const int resolv = ::open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
    if (resolv >= 0) ::close(resolv);
    if (resolv < 0 && errno == EPERM) return 10;
    if (::kill(::getpid(), 0) != 0) return 11;
    // What the server never does.
    if (!refused_with_eperm(::socket(AF_NETLINK, SOCK_RAW, 0))) return 20;
    if (!refused_with_eperm(::socket(AF_PACKET, SOCK_RAW, 0))) return 21;
    if (!refused_with_eperm(::open("/tmp/slirpvpn-sandbox-test", O_WRONLY | O_CREAT, 0600)))
      return 22;
    if (!refused_with_eperm(::open("/etc/resolv.conf", O_RDWR))) return 23;
    if (::mprotect(memory, 4096, PROT_READ | PROT_EXEC) == 0 || errno != EPERM) return 24;
    if (::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
            MAP_FAILED ||
        errno != EPERM)
      return 25;
    if (!sandbox_relaxed_for_sanitizers() && !refused_with_eperm(::fork())) return 26;
    if (!refused_with_eperm(::kill(::getppid(), 0))) return 27;
    if (!sandbox_relaxed_for_sanitizers() &&
        !refused_with_eperm(::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)))
      return 28;
    ifreq request{};
    if (!refused_with_eperm(::ioctl(udp, SIOCGIFFLAGS, &request))) return 29;
    if (!refused_with_eperm(::fcntl(udp, F_DUPFD, 100))) return 30;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "first failed check (see the test's return codes)";
}

TEST(Sandbox, ApplyDropsCapabilitiesAndCoreDumps) {
  const bool root = ::geteuid() == 0;
  const int status = in_child([root] {
    if (!disable_core_dumps()) return 90;
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0) return 1;
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return 2;
    auto report = apply_sandbox();
    if (!report) return 91;
    if (report->seccomp_rules < 50) return 3;
    if (status_field("CapEff") != "0000000000000000") return 4;
    if (status_field("CapPrm") != "0000000000000000") return 5;
    if (status_field("CapInh") != "0000000000000000") return 6;
    if (status_field("CapAmb") != "0000000000000000") return 7;
    // Root holds CAP_SETPCAP, so the bounding set goes too.
    if (root && (!report->bounding_set_dropped || status_field("CapBnd") != "0000000000000000"))
      return 8;
    if (status_field("Seccomp") != "2" || status_field("NoNewPrivs") != "1") return 9;
    // Without CAP_NET_RAW even root gets no raw socket (the filter allows AF_INET sockets).
    if (!refused_with_eperm(::socket(AF_INET, SOCK_RAW, IPPROTO_ICMP))) return 10;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "first failed check (see the test's return codes)";
}

}  // namespace
}  // namespace slirpvpn::server
