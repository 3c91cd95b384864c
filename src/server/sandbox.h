// SPDX-License-Identifier: MIT
// The server's sandbox: no capabilities, no new privileges, no core dumps and a seccomp filter
// that allows only the system calls a running server makes.
//
// Theory of operation
//   The server opens everything that needs the file system or privileges at start-up (config
//   and key files, the UDP socket, the control socket, port-forward listeners, the host address
//   list via netlink). What it does afterwards is socket I/O: libslirp turns a client's flows
//   into socket/connect/sendto/recvfrom/accept calls, the event loop waits in epoll_wait, the
//   control socket accepts `wg` connections. apply_sandbox() then locks the process to that:
//     1. RLIMIT_CORE 0 and PR_SET_DUMPABLE 0: key material never lands in a core file, and
//        processes of the same user cannot ptrace it or read its memory through /proc.
//     2. Capabilities: the bounding set is emptied when we hold CAP_SETPCAP, the ambient set
//        cleared, and effective/permitted/inheritable set to empty. The server needs none (its
//        port is bound already; ICMP uses unprivileged ping sockets).
//     3. PR_SET_NO_NEW_PRIVS: no set-uid binary or file capability can give any back.
//     4. A seccomp filter (libseccomp): an allow list; anything else fails with EPERM, and calls
//        that only an attacker would make (execve, ptrace, mount, module loading, kexec, bpf,
//        namespace changes, cross-process memory access) kill the process.
//   Arguments are checked where a call is broad: socket() only for AF_INET, AF_INET6 and
//   AF_UNIX; openat() only read-only (libslirp re-reads /etc/resolv.conf for DNS forwarding,
//   glib reads /dev/urandom); mmap/mprotect never with PROT_EXEC (no new code at run time);
//   ioctl only FIONREAD/FIONBIO/SIOCOUTQ-style socket queries and TCGETS; fcntl only the
//   flag get/set commands; kill/tgkill only to this process (abort() on an assertion).
//   Sanitizer builds get a few more calls (see sandbox_relaxed_for_sanitizers()).
//   Threads: the server's slirp thread starts before the sandbox and the filter is synchronised
//   to it (TSYNC); the two threads then need only futex (control commands, joining at exit) and
//   read/write on eventfds (wake-ups), both allowed. No thread starts afterwards (no clone).
//   Left out on purpose: path filtering (seccomp cannot read pointers; Landlock could, later),
//   new threads after start-up, and fork/exec (never needed).
#pragma once

#include <cstddef>

#include "common/error.h"

namespace slirpvpn::server {

struct SandboxReport {
  size_t seccomp_rules = 0;           // rules in the loaded filter (allow + kill + argument checks)
  bool bounding_set_dropped = false;  // false when we lacked CAP_SETPCAP (e.g. started as nobody)
};

// Applies the whole sandbox to the calling process. Irreversible. Call once, after start-up is
// complete (the server's threads running); the filter is synchronised to all threads.
// Fails without changing the filter if any step fails; the caller should not serve then.
Expected<SandboxReport> apply_sandbox();

// True in ASan/UBSan builds: the filter then also allows what the sanitizer runtime needs
// (LeakSanitizer's ptrace-based exit check, UBSan's memory probes), and execve fails with EPERM
// instead of killing, so a report's symbolizer fails quietly. Never true in a release build.
bool sandbox_relaxed_for_sanitizers() noexcept;

// The steps, for tests and for callers that want only part of the sandbox.
Expected<void> disable_core_dumps();
Expected<bool> drop_capabilities();  // true when the bounding set was emptied too
// Sets no_new_privs and loads the filter; returns the number of rules.
Expected<size_t> install_seccomp_filter();

}  // namespace slirpvpn::server
