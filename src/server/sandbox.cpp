// SPDX-License-Identifier: MIT
// The server's sandbox: core dumps off, capabilities dropped, no_new_privs, a libseccomp filter.
#include "server/sandbox.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <string_view>

namespace slirpvpn::server {
namespace {

// libseccomp's SCMP_An() macros leave datum_b to zero-initialisation, which clang's
// -Wmissing-field-initializers rejects; this spells every field.
scmp_arg_cmp compare(unsigned int argument, scmp_compare operation, scmp_datum_t a,
                     scmp_datum_t b = 0) {
  return scmp_arg_cmp{argument, operation, a, b};
}

// Allowed with any arguments. Each line says who needs it after start-up.
constexpr std::array kAllowed = {
    // Socket and pipe I/O: UDP batches, libslirp's host sockets, the control socket, stderr.
    "read", "write", "readv", "writev", "close", "lseek", "recvfrom", "recvmsg", "recvmmsg",
    "sendto", "sendmsg", "sendmmsg",
    // libslirp's outbound flows and port forwards; the control socket's clients.
    "connect", "bind", "listen", "accept", "accept4", "shutdown", "getsockopt", "setsockopt",
    "getsockname", "getpeername",
    // The event loop (epoll + signalfd + eventfd, created before the sandbox).
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
    // Clocks (the vDSO covers most; these are its fallbacks) and short sleeps.
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    // malloc and glib's allocator (mmap and mprotect are checked below).
    "brk", "munmap", "mremap", "madvise", "futex",
    // Signals: SIGPIPE ignored, signalfd mask, abort() on an assertion.
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "exit",
    "exit_group",
    // libsodium's random bytes (handshake ephemerals, cookies), identity queries by libraries.
    "getrandom", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "uname",
    // libslirp stats /etc/resolv.conf to see whether its cached DNS server is still current;
    // stdio fstat()s stderr.
    "newfstatat", "fstat", "stat", "lstat", "statx",
    // The control socket file is removed at exit (it is ours; a stale one would block restart).
    "unlink"};

// Kill the process at once: no server code path makes these; an attacker who runs code would.
constexpr std::array kKilled = {"execve",
                                "execveat",
                                "ptrace",
                                "process_vm_readv",
                                "process_vm_writev",
                                "mount",
                                "umount2",
                                "pivot_root",
                                "chroot",
                                "fsopen",
                                "fsmount",
                                "fsconfig",
                                "fspick",
                                "move_mount",
                                "open_tree",
                                "mount_setattr",
                                "kexec_load",
                                "kexec_file_load",
                                "init_module",
                                "finit_module",
                                "delete_module",
                                "bpf",
                                "setns",
                                "unshare",
                                "reboot",
                                "swapon",
                                "swapoff",
                                "open_by_handle_at",
                                "perf_event_open",
                                "userfaultfd",
                                "keyctl",
                                "add_key",
                                "request_key",
                                "iopl",
                                "ioperm",
                                "acct",
                                "settimeofday",
                                "clock_settime",
                                "adjtimex",
                                "clock_adjtime",
                                "personality"};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerRuntime = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerRuntime = true;
#else
constexpr bool kSanitizerRuntime = false;
#endif
#else
constexpr bool kSanitizerRuntime = false;
#endif

// Only in ASan/UBSan builds (tests), never in a release: what the sanitizer runtime does
// behind our back. UBSan probes memory through a pipe and reads /proc/self/exe; LeakSanitizer's
// exit check clones a tracer thread that ptraces the process (dumpable again for a moment),
// lists /proc/self/task and waits for it; a report spawns the symbolizer (execve stays refused,
// so stacks print unsymbolized rather than the process dying mid-report).
constexpr std::array kSanitizerAllowed = {"readlink",
                                          "readlinkat",
                                          "pipe",
                                          "pipe2",
                                          "clone",
                                          "ptrace",
                                          "wait4",
                                          "getdents",
                                          "getdents64",
                                          "sched_yield",
                                          "prctl",
                                          "getppid",
                                          "sched_getaffinity",
                                          "mincore"};

bool killed(const char* name) noexcept {
  if (!kSanitizerRuntime) return true;
  const std::string_view call(name);
  return call != "ptrace" && call != "execve";
}

struct FilterDeleter {
  void operator()(scmp_filter_ctx context) const noexcept { seccomp_release(context); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

class RuleBuilder {
 public:
  explicit RuleBuilder(scmp_filter_ctx context) noexcept : context_(context) {}

  // A call this architecture lacks (e.g. "time" on arm64) is skipped, not an error.
  Expected<void> add(uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args) {
    const int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR || number < 0) return {};
    const int result = seccomp_rule_add_array(context_, action, number, unsigned(args.size()),
                                              args.size() ? args.begin() : nullptr);
    if (result != 0) return fail("seccomp_rule_add", name, -result);
    ++rules_;
    return {};
  }

  size_t rules() const noexcept { return rules_; }

 private:
  scmp_filter_ctx context_;
  size_t rules_ = 0;
};

Expected<size_t> build_and_load() {
  // Anything not listed fails with EPERM: libraries see an ordinary error and carry on.
  Filter filter(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!filter) return fail("seccomp_init", "cannot create a filter");
  scmp_filter_ctx context = filter.get();
  // Applies to every thread, should a library ever start one.
  if (int result = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1); result != 0)
    return fail("seccomp_attr_set", "TSYNC", -result);
  RuleBuilder rules(context);
  for (const char* name : kAllowed)
    if (auto added = rules.add(SCMP_ACT_ALLOW, name, {}); !added)
      return tl::unexpected(added.error());
  for (const char* name : kKilled) {
    if (!killed(name)) continue;
    if (auto added = rules.add(SCMP_ACT_KILL_PROCESS, name, {}); !added)
      return tl::unexpected(added.error());
  }
  if (kSanitizerRuntime) {
    for (const char* name : kSanitizerAllowed) {
      if (auto added = rules.add(SCMP_ACT_ALLOW, name, {}); !added)
        return tl::unexpected(added.error());
    }
  }

  const auto a0_equals = [](scmp_datum_t value) { return compare(0, SCMP_CMP_EQ, value); };
  const auto a1_equals = [](scmp_datum_t value) { return compare(1, SCMP_CMP_EQ, value); };
  struct Conditional {
    const char* name;
    scmp_arg_cmp check;
  };
  const scmp_datum_t self = scmp_datum_t(::getpid());
  const Conditional conditionals[] = {
      // libslirp's sockets (TCP, UDP, ICMP ping sockets) and the control socket's family;
      // not netlink, packet or anything else.
      {"socket", a0_equals(AF_INET)},
      {"socket", a0_equals(AF_INET6)},
      {"socket", a0_equals(AF_UNIX)},
      // Read-only opens: /etc/resolv.conf (libslirp's DNS forwarder), /dev/urandom (glib).
      {"openat", compare(2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)},
      {"open", compare(1, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)},
      // Memory, but never executable: no code is loaded after start-up.
      {"mmap", compare(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)},
      {"mprotect", compare(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)},
      // Socket queue sizes (libslirp's UDP and TCP reads), non-blocking mode, and isatty().
      {"ioctl", a1_equals(FIONREAD)},
      {"ioctl", a1_equals(FIONBIO)},
      {"ioctl", a1_equals(SIOCOUTQ)},
      {"ioctl", a1_equals(TCGETS)},
      // Descriptor flags: libslirp sets O_NONBLOCK and FD_CLOEXEC on the sockets it opens.
      {"fcntl", a1_equals(F_GETFL)},
      {"fcntl", a1_equals(F_SETFL)},
      {"fcntl", a1_equals(F_GETFD)},
      {"fcntl", a1_equals(F_SETFD)},
      // abort() (SLIRPVPN_ASSERT) signals itself; no other process.
      {"kill", a0_equals(self)},
      {"tgkill", a0_equals(self)},
  };
  for (const auto& conditional : conditionals) {
    if (auto added = rules.add(SCMP_ACT_ALLOW, conditional.name, {conditional.check}); !added)
      return tl::unexpected(added.error());
  }
  if (int result = seccomp_load(context); result != 0)
    return fail("seccomp_load", "loading the filter", -result);
  return rules.rules();
}

}  // namespace

bool sandbox_relaxed_for_sanitizers() noexcept {
  return kSanitizerRuntime;
}

Expected<void> disable_core_dumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) return fail_errno("setrlimit", "RLIMIT_CORE 0");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return fail_errno("prctl", "PR_SET_DUMPABLE 0");
  return {};
}

Expected<bool> drop_capabilities() {
  bool bounding_dropped = false;
  cap_t current = cap_get_proc();
  if (!current) return fail_errno("cap_get_proc");
  cap_flag_value_t setpcap = CAP_CLEAR;
  const int queried = cap_get_flag(current, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
  cap_free(current);
  if (queried != 0) return fail_errno("cap_get_flag", "CAP_SETPCAP");
  // Emptying the bounding set needs CAP_SETPCAP, so it comes before the other sets.
  if (setpcap == CAP_SET) {
    for (cap_value_t cap = 0; cap < cap_value_t(cap_max_bits()); ++cap) {
      if (cap_drop_bound(cap) != 0) return fail_errno("cap_drop_bound", cap_to_name(cap));
    }
    bounding_dropped = true;
  }
  // Kernels before 4.3 have no ambient set (EINVAL): nothing to clear there.
  if (cap_reset_ambient() != 0 && errno != EINVAL) return fail_errno("cap_reset_ambient");
  cap_t empty = cap_init();  // all flags clear
  if (!empty) return fail_errno("cap_init");
  const int set = cap_set_proc(empty);
  cap_free(empty);
  if (set != 0) return fail_errno("cap_set_proc", "empty set");
  return bounding_dropped;
}

Expected<size_t> install_seccomp_filter() {
  // libseccomp would set it too; explicit, because the sandbox's promise depends on it.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail_errno("prctl", "PR_SET_NO_NEW_PRIVS 1");
  return build_and_load();
}

Expected<SandboxReport> apply_sandbox() {
  SandboxReport report;
  if (auto done = disable_core_dumps(); !done) return tl::unexpected(done.error());
  auto dropped = drop_capabilities();
  if (!dropped) return tl::unexpected(dropped.error());
  report.bounding_set_dropped = *dropped;
  auto rules = install_seccomp_filter();
  if (!rules) return tl::unexpected(rules.error());
  report.seccomp_rules = *rules;
  return report;
}

}  // namespace slirpvpn::server
