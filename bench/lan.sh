#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lan.sh: the LAN benchmark (issue 6): slirpvpn, wireguard-go, OpenVPN and slirp4netns measured
# side by side in one run over the namespace topology, with every figure's ratio to wireguard-go.
#
#   vc (198.51.100.2) --WAN veth-- vs (198.51.100.1 / 203.0.113.1) --veth-- inet (203.0.113.2)
#
#   slirpvpn          our client in vc -> UDP -> our server in vs (unprivileged) -> libslirp
#                     sockets in vs -> inet. vs never forwards.
#   wireguard-go      wireguard-go in vc and vs, kernel forwarding + nft masquerade in vs
#   openvpn           OpenVPN UDP, AES-256-GCM (TLS with a throw-away PKI), same kernel NAT
#   slirp4netns-1500  no VPN: netns sl whose only link is slirp4netns's tap0 (MTU 1500),
#                     slirp4netns running in vs: libslirp without crypto, the SLiRP reference
#   vs forwards (ip_forward=1 and an nft masquerade table) only during the two kernel-NAT rows,
#   and is put back to topology.sh's state after each.
#
# Per system, towards iperf3 and ping at 203.0.113.2 in inet (started by topology.sh's
# start_inet_services): ping (200 x 0.01 s: median, p99); iperf3 TCP 1 flow and 4 flows (-P 4),
# up (vc -> inet) and down (-R), RUNS x SECONDS each (median); iperf3 UDP -b 0 -l 64 and -l 1392
# (not 1400: see UDP_LENS), up and down, SECONDS each (packets/s the receiver got, loss); the
# CPU time (utime+stime) of the system's processes over all TCP runs per GB received; VmRSS and
# VmHWM at the end. TCP congestion control is bbr (what the anchors ran with: the machine's
# default) in every namespace that ends a TCP connection (vc, vs, inet, sl), so all systems
# get the same.
#
# Usage (root; about 8 minutes; nothing else heavy should run, the machine has 2 cores):
#   sudo bash bench/lan.sh [--quick] [--systems "slirpvpn wireguard-go ..."] [--build-dir DIR]
#                          [--seconds N] [--out FILE]
#   --quick        1 run x 3 s instead of 3 x 5 s (smoke check, about 2 minutes)
#   --systems      subset and order (default: slirpvpn wireguard-go openvpn slirp4netns-1500;
#                  any slirp4netns-MTU works); wireguard-go is the ratio baseline when present
#   --build-dir    use this build instead of building build/release (cmake --preset release,
#                  only the slirpvpn target, skipped when up to date)
#   --seconds N    every iperf3 run lasts N s (the smoke test uses 1)
#   --out FILE     report path (default bench/results/lan.md)
# Environment: BENCH_NOTE="..." adds a line to the report's Load line (e.g. what else ran);
# TOPO_KEEP_LOGS=1 keeps the raw iperf3 JSON, ping output and logs in /tmp/slirpvpn-topo.PID.
# Every process and namespace is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB="$ROOT/tests/integration/lib"

QUICK=0
SYSTEMS="slirpvpn wireguard-go openvpn slirp4netns-1500"
BUILD=""
SECONDS_OVERRIDE=""
REPORT="$ROOT/bench/results/lan.md"
COMMAND="sudo bash bench/lan.sh${*:+ $*}"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --systems) SYSTEMS="${2:?--systems needs a list}"; shift ;;
    --build-dir) BUILD="${2:?--build-dir needs a directory}"; shift ;;
    --seconds) SECONDS_OVERRIDE="${2:?--seconds needs a number}"; shift ;;
    --out) REPORT="${2:?--out needs a file}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
[[ "$(id -u)" == 0 ]] || { echo "lan.sh: run as root (network namespaces)" >&2; exit 1; }

if ((QUICK)); then RUNS=1 SECS=3; else RUNS=3 SECS=5; fi
if [[ -n "$SECONDS_OVERRIDE" ]]; then
  [[ "$SECONDS_OVERRIDE" =~ ^[1-9][0-9]?$ ]] || { echo "--seconds: 1 to 99" >&2; exit 2; }
  SECS=$SECONDS_OVERRIDE
fi
PINGS=200
# 1392: the largest UDP payload a WireGuard tunnel (MTU 1420) carries unfragmented (1392 + 8 + 20).
# With 1400, iperf3's sender in inet gets EMSGSIZE once vs's ICMP "fragmentation needed" lowers
# its path MTU (a connected UDP socket reports it as an error) and aborts the download test.
UDP_LENS="64 1392"
PING_INTERVAL=0.01

export TOPO_QUIET=1
# shellcheck source=../tests/integration/lib/topology.sh
. "$LIB/topology.sh"
# shellcheck source=../tests/integration/lib/server_env.sh
. "$LIB/server_env.sh"
# shellcheck source=../tests/integration/lib/client_env.sh
. "$LIB/client_env.sh"
# shellcheck source=lib/common.sh
. "$ROOT/bench/lib/common.sh"
# shellcheck source=lib/systems.sh
. "$ROOT/bench/lib/systems.sh"
# shellcheck source=lib/measure.sh
. "$ROOT/bench/lib/measure.sh"

BENCH_CC=bbr
if ! grep -qw bbr /proc/sys/net/ipv4/tcp_available_congestion_control; then
  BENCH_CC=$(sysctl -n net.ipv4.tcp_congestion_control)
  bench_log "bbr is not available here: every namespace uses $BENCH_CC instead"
fi

# Tools first: a missing one should stop the bench before anything is set up.
need=(iperf3 ping nft ip ss timeout "$TOPO_PYTHON")
for sys in $SYSTEMS; do
  case "$sys" in
    slirpvpn) need+=(cmake ninja setpriv) ;;
    wireguard-go) need+=(wireguard-go wg) ;;
    openvpn) need+=(openvpn openssl) ;;
    slirp4netns-[0-9]*) need+=(slirp4netns) ;;
    *) echo "lan.sh: unknown system '$sys'" >&2; exit 2 ;;
  esac
done
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || { echo "lan.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

if [[ " $SYSTEMS " == *" slirpvpn "* && -z "$BUILD" ]]; then
  BUILD=$(bench_build_release "$ROOT") || { echo "lan.sh: the release build failed" >&2; exit 1; }
fi

START_NS=$(date +%s%N)
srv_trap
BENCH_OUT="$TOPO_STATE/bench"
mkdir -p "$BENCH_OUT"
: >"$BENCH_OUT/results.tsv"
bench_machine_meta "$BENCH_OUT/meta.env"
bench_versions "$BENCH_OUT/versions.tsv"

bench_log "topology up (TOPO_ID $TOPO_ID), iperf3 in $INET"
topo_up
start_inet_services
bench_set_cc "$BENCH_CC" "$VC" "$VS" "$INET" || die "cannot set $BENCH_CC"
if [[ " $SYSTEMS " == *" slirpvpn "* ]]; then
  srv_init "$BUILD"
  cli_init "$BUILD"
  cli_resolv_conf "$VS_WAN_IP"
fi

# bench_one SYS: set up, measure, tear down; a system that fails to come up gets a status row.
bench_one() {
  local sys="$1" r
  printf '%s\t%s\n' "$sys" "$(bench_system_describe "$sys")" >>"$BENCH_OUT/systems.tsv"
  bench_log "=== $sys: setup"
  if ! bench_system_up "$sys"; then
    bench_log "$sys: setup failed (logs in $TOPO_STATE, TOPO_KEEP_LOGS=1 keeps them)"
    bench_status "$sys" failed "setup failed"
    bench_system_down "$sys"
    return 0
  fi
  if ! wait_for "ip netns exec '$BENCH_NS' ping -n -c 1 -W 1 $INET_IP" 15; then
    bench_status "$sys" failed "$BENCH_NS cannot ping $INET_IP"
    bench_system_down "$sys"
    return 0
  fi
  bench_status "$sys" ok
  bench_row "$sys" load_start "$(cut -d' ' -f1 /proc/loadavg)"
  bench_log "=== $sys: measuring from $BENCH_NS (processes: ${BENCH_PROCS:-none})"
  sleep 1
  bench_ping "$sys" "$PINGS" "$PING_INTERVAL"
  for r in $(seq "$RUNS"); do
    bench_tcp "$sys" up 1 "$r" "$SECS"
    bench_tcp "$sys" down 1 "$r" "$SECS"
  done
  for r in $(seq "$RUNS"); do
    bench_tcp "$sys" up 4 "$r" "$SECS"
    bench_tcp "$sys" down 4 "$r" "$SECS"
  done
  for len in $UDP_LENS; do
    bench_udp "$sys" up "$len" "$SECS"
    bench_udp "$sys" down "$len" "$SECS"
  done
  bench_memory "$sys"
  bench_log "=== $sys: teardown"
  bench_system_down "$sys"
  sleep 1
}

for sys in $SYSTEMS; do bench_one "$sys"; done

baseline=wireguard-go
[[ " $SYSTEMS " == *" wireguard-go "* ]] || baseline=${SYSTEMS%% *}
build_id=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
[[ -n "$BUILD" ]] && build_id+=" ($(grep -m1 '^CMAKE_BUILD_TYPE:' "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
cat >>"$BENCH_OUT/meta.env" <<EOF
finished=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
note=${BENCH_NOTE:-}
systems=$SYSTEMS
baseline=$baseline
build=$build_id
command=$COMMAND
method=iperf3 $(iperf3 --version | head -n 1 | awk '{print $2}') towards 203.0.113.2 in netns inet: TCP 1 flow and 4 flows (-P 4), up (client netns -> inet) and down (-R), $RUNS run(s) x $SECS s each, median, throughput as counted by the receiver; UDP -b 0 -l 64 and -l 1392 (the largest payload unfragmented at MTU 1420) for $SECS s each way, packets/s received by the receiver and loss; TCP congestion control $BENCH_CC in vc, vs, inet and sl; ping $PINGS x $PING_INTERVAL s (median, p99 nearest rank) with no other load; CPU: utime+stime (/proc/PID/stat, all threads) of the system's processes summed over all TCP runs, divided by the bytes the receivers counted in them; memory: /proc/PID/status of the same processes after the last run. Total time $(( ($(date +%s%N) - START_NS) / 1000000000 )) s.
notes_file=$BENCH_OUT/notes.md
EOF
cat >"$BENCH_OUT/notes.md" <<'EOF'
- The iperf3 server, the iperf3/ping clients and every VPN process share the same 2 cores;
  the tunnels are CPU-bound on this LAN, so anything else running on the machine lowers
  them. Compare systems within one run, not across runs.
- CPU per GB counts only the systems' own processes (user + system time in their context:
  syscalls, TUN and UDP work). The kernel NAT rows (wireguard-go, OpenVPN) also forward and
  masquerade in softirq, which no process is charged for; slirpvpn and slirp4netns do their
  NAT inside the process, so their figure includes it.
- slirp4netns has no client process (the measuring clients sit in its namespace directly):
  its one process is counted as the server, and it has no encryption and no WAN hop.
- Large UDP datagrams use a 1392-byte payload, not 1400: 1400 + 28 bytes of headers exceed
  the MTU 1420 of slirpvpn and wireguard-go, and in the download direction iperf3's sender in
  inet then aborts ("Message too long") as soon as vs's ICMP "fragmentation needed" lowers its
  path MTU. 1392 fits every system unfragmented.
- UDP -b 0 sends as fast as the sender can; "packets/s received" is what reached the
  receiving iperf3 (packets minus lost over the receiver's interval), the loss is the
  receiver's count. Sender and receiver compete for the same 2 cores.
- Throughput includes TCP slow start (whole-run average as iperf3 reports it).
EOF
bench_log "writing $REPORT"
mkdir -p "$(dirname "$REPORT")"
echo
"$TOPO_PYTHON" "$ROOT/bench/lib/report.py" "$BENCH_OUT" "$REPORT" "LAN benchmark"
echo
bench_log "report: $REPORT ($(( ($(date +%s%N) - START_NS) / 1000000000 )) s)"
