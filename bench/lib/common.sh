# shellcheck shell=bash disable=SC2034  # the BENCH_ variables are read by the benches
# SPDX-License-Identifier: MIT
# common.sh: what every bench shares: the release build, TCP settings, per-process CPU and memory
# readings, and the machine description the reports open with.
#
# Use (as root, after tests/integration/lib/topology.sh):
#   bench_log MSG...                   a timestamped line on stderr
#   bench_build_release ROOT           configure (cmake --preset release) when needed, then build
#                                      only the slirpvpn target, -j2 (a no-op when up to date).
#                                      Prints the build directory.
#   bench_set_cc ALGO NS...            net.ipv4.tcp_congestion_control=ALGO in each namespace
#                                      (every TCP endpoint of the bench, so all systems get the same)
#   bench_proc_ticks PID               utime+stime of the whole process (all threads), clock
#                                      ticks; 0 when the process is gone
#   bench_proc_mem_kib PID FIELD       FIELD (VmRSS, VmHWM) of /proc/PID/status in KiB, empty if gone
#   bench_machine_meta OUT_FILE        KEY=VALUE lines: date, CPU, kernel, OS, load, tcp settings
#   bench_versions OUT_FILE            "package<TAB>version" of the tools the benches run

BENCH_CLK_TCK=$(getconf CLK_TCK)

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bench_build_release() {
  local root="$1" dir="$1/build/release"
  if [[ ! -f "$dir/build.ninja" ]]; then
    bench_log "configuring the release build (cmake --preset release)"
    (cd "$root" && cmake --preset release >/dev/null) || return 1
  fi
  # No dry run (ninja -n): the CONFIGURE_DEPENDS glob check always looks dirty to it. A real
  # build of an up-to-date tree re-checks the globs and does nothing else.
  local log
  log=$(cd "$root" && cmake --build --preset release -j2 --target slirpvpn 2>&1) || {
    printf '%s\n' "$log" | tail -n 30 >&2
    return 1
  }
  if grep -q 'ninja: no work to do' <<<"$log"; then
    bench_log "release build is up to date: $dir/slirpvpn"
  else
    bench_log "built $dir/slirpvpn (-j2: the machine has 2 shared cores)"
  fi
  echo "$dir"
}

bench_set_cc() {
  local algo="$1" ns
  shift
  for ns in "$@"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control="$algo" || return 1
  done
}

bench_proc_ticks() {
  if [[ -z "$1" || ! -r "/proc/$1/stat" ]]; then
    echo 0
    return 0
  fi
  # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 } END { if (NR == 0) print 0 }'
}

bench_proc_mem_kib() {
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

bench_machine_meta() {
  {
    echo "date=$(date -u +'%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "aes=$(grep -qw aes /proc/cpuinfo && echo yes || echo no)"
    echo "mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$1"
}

bench_versions() {
  dpkg-query -W -f='${Package}\t${Version}\n' iperf3 wireguard-go wireguard-tools openvpn \
    openssl slirp4netns libslirp0 iproute2 nftables iputils-ping 2>/dev/null >"$1" || true
}
