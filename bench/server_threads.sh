#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# server_threads.sh: tunnel throughput of our client and server, and the server's CPU per thread,
# for one or more builds in turn on one topology (before/after comparisons in the same minute).
#
#   vc: slirpvpn client (TUN)  ==UDP==>  vs: slirpvpn server (nobody)  -> libslirp ->  inet: iperf3
#
# For each BUILD_DIR: start the server and the client, iperf3 one TCP flow up (vc -> inet) and
# down (-R) for SECONDS each, and read the server's threads' utime+stime from
# /proc/PID/task/*/stat around each run: the table gives Mbit/s (receiver side) and each
# thread's CPU % of one core (thread names: slirpvpn = network thread, slirpvpn-slirp = slirp).
#
# Usage (root; about 15 s + 2 x SECONDS per build):
#   bash bench/server_threads.sh [--seconds N] BUILD_DIR [BUILD_DIR...]
# Every process and namespace is removed on exit, also on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB="$ROOT/tests/integration/lib"
SECONDS_PER_RUN=5
if [[ "${1:-}" == --seconds ]]; then
  SECONDS_PER_RUN=${2:?--seconds needs a number}
  shift 2
fi
(($# > 0)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
BUILDS=()
for build in "$@"; do BUILDS+=("$(realpath "$build")"); done

# shellcheck source=../tests/integration/lib/topology.sh
. "$LIB/topology.sh"
# shellcheck source=../tests/integration/lib/client_env.sh
. "$LIB/client_env.sh"
topo_trap
topo_up
start_inet_services
cli_init "${BUILDS[0]}"
cli_resolv_conf 198.51.100.1

SRV_DIR="$TOPO_STATE/server"
mkdir -p "$SRV_DIR"
chmod o+x "$TOPO_STATE"
(umask 077 && "$SLIRPVPN" genkey >"$SRV_DIR/server.key")
SERVER_PUB=$("$SLIRPVPN" pubkey <"$SRV_DIR/server.key")
CLIENT_PUB=$(cli_key client)
printf '[Interface]\nPrivateKeyFile = server.key\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\n' \
  "$CLIENT_PUB" >"$SRV_DIR/server.conf"
chmod 600 "$SRV_DIR/server.conf"
chown -R nobody:nogroup "$SRV_DIR"
chmod 700 "$SRV_DIR"
cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.0.2.15/32
DNS = 10.0.2.3

[Peer]
PublicKey = $SERVER_PUB
Endpoint = $VS_WAN_IP:51820
AllowedIPs = 0.0.0.0/0
PersistentKeepalive = 25"

# thread_ticks PID: "name=ticks" per thread (utime+stime; the name may hold no space here).
thread_ticks() {
  local stat
  for stat in /proc/"$1"/task/*/stat; do
    awk '{ s = $0; sub(/^[0-9]+ \(/, "", s); name = substr(s, 1, index(s, ") ") - 1);
           n = split(substr(s, index(s, ") ") + 2), f, " ");
           printf "%s:%s=%d\n", name, FILENAME, f[12] + f[13] }' "$stat" 2>/dev/null || true
  done
}
# cpu_line BEFORE AFTER SECONDS: "name=NN%" per thread over the interval.
cpu_line() {
  local hz
  hz=$(getconf CLK_TCK)
  join -t= <(sort <<<"$1") <(sort <<<"$2") |
    awk -F= -v hz="$hz" -v s="$3" '{ split($1, a, ":"); printf "%s=%.0f%% ", a[1], ($3 - $2) * 100 / hz / s }'
}
# run_iperf BUILD DIRECTION-FLAG: prints "Mbit/s | threads".
run_iperf() {
  local pid=$1 flag=$2 before after json mbps start end
  before=$(thread_ticks "$pid")
  start=$(date +%s.%N)
  json=$(ip netns exec "$VC" timeout $((SECONDS_PER_RUN + 20)) iperf3 -c "$INET_IP" \
    -t "$SECONDS_PER_RUN" $flag -J) || true
  end=$(date +%s.%N)
  after=$(thread_ticks "$pid")
  mbps=$(jq -r '.end.sum_received.bits_per_second // 0 | . / 1e6 | floor' <<<"$json" 2>/dev/null ||
    echo 0)
  echo "$mbps Mbit/s | $(cpu_line "$before" "$after" "$(echo "$end - $start" | bc)")"
}

RESULTS=()
for build in "${BUILDS[@]}"; do
  SLIRPVPN="$build/slirpvpn"
  bg "$VS" server setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    --no-new-privs "$SLIRPVPN" server -c "$SRV_DIR/server.conf"
  wait_udp_listen "$VS" 51820 10 || die "server ($build) did not start"
  cli_start || die "client ($build) did not connect"
  nsexec "$VC" ping -c 2 -i 0.2 -W 3 "$INET_IP" >/dev/null || die "no tunnel ($build)"
  pid=$(bg_pid server)
  up=$(run_iperf "$pid" "")
  down=$(run_iperf "$pid" "-R")
  RESULTS+=("$build: up $up; down $down")
  cli_stop
  bg_stop server
done
echo
echo "server_threads.sh: one TCP flow, ${SECONDS_PER_RUN} s each way, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for line in "${RESULTS[@]}"; do echo "  $line"; done
