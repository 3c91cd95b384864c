#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo's main part: our server unprivileged in vs, our client in vc, each check printed with
# its result and figure. Called by scripts/demo.sh with the release build directory; usable alone:
#   bash scripts/demo-tunnel.sh build/release
# Needs root (network namespaces). Exits non-zero if a check failed; cleans up on every exit.
set -uo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB="$ROOT/tests/integration/lib"
export TOPO_QUIET=1
# shellcheck source=../tests/integration/lib/topology.sh
. "$LIB/topology.sh"
# shellcheck source=../tests/integration/lib/server_env.sh
. "$LIB/server_env.sh"
# shellcheck source=../tests/integration/lib/client_env.sh
. "$LIB/client_env.sh"

srv_trap
results=()
failed=0

# row CHECK RESULT FIGURE: one line of the report, kept for the end.
row() {
  results+=("$(printf '  %-46s %-4s %s' "$1" "$2" "$3")")
  [[ "$2" == ok ]] || failed=$((failed + 1))
  printf '  %-46s %-4s %s\n' "$1" "$2" "$3"
}

echo "   setting up vc (client), vs (server, no route out), inet (203.0.113.2)"
topo_up
start_inet_services
srv_init "$BUILD"
cli_init "$BUILD"
cli_resolv_conf "$VS_WAN_IP"

vpn_pair "$VS_WAN_IP:$SRV_PORT" 25
SRV_USER=$(ps -o user= -p "$(srv_pid)")

# The handshake, timed on the wire: the initiation (type 1) leaving vc, the response (type 2)
# arriving.
bg "$VC" demo-hs tcpdump -i wan0 -n -tt -l -U 'udp and (udp[8] = 1 or udp[8] = 2)'
wait_for "grep -q 'listening on' '$TOPO_STATE/demo-hs.log'" 5 || true
if cli_start; then
  sleep 0.3
  hs=$(awk '/length 148/ && !i { i = $1 } /length 92/ && i && !r { r = $1 }
    END { if (i && r) printf "%.2f", (r - i) * 1000 }' "$TOPO_STATE/demo-hs.log")
  row "handshake (our client -> our server as $SRV_USER)" ok "${hs:-?} ms"
else
  row "handshake (our client -> our server)" FAIL "see the client log"
fi
bg_stop demo-hs

out=$(ip netns exec "$VC" ping -c 10 -i 0.2 -W 2 "$INET_IP" 2>&1)
rtt=$(sed -n 's|.*= \([0-9.]*\)/\([0-9.]*\)/.*|min \1 ms, avg \2 ms|p' <<<"$out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
[[ "${got:-0}" -ge 9 ]] && r=ok || r=FAIL
row "ping 203.0.113.2 through the tunnel (10)" "$r" "${got:-0}/10 replies, ${rtt:-no rtt}"

ans=$(ip netns exec "$VC" dig +short +time=3 +tries=2 @10.0.2.3 example.test 2>&1 | head -n 1)
[[ "$ans" == "$INET_IP" ]] && r=ok || r=FAIL
row "DNS example.test via 10.0.2.3" "$r" "${ans:-no answer}"

start=$(date +%s%N)
sum=$(ip netns exec "$VC" curl -sS --max-time 60 --cacert "$TOPO_CA_FILE" \
  https://inet.test/blob.bin 2>/dev/null | sha256sum | awk '{print $1}')
secs=$(awk -v n=$(($(date +%s%N) - start)) 'BEGIN { printf "%.2f", n / 1e9 }')
[[ "$sum" == "$TOPO_BLOB_SHA256" ]] && r=ok || r=FAIL
row "HTTPS 2 MB download, sha256 ${TOPO_BLOB_SHA256:0:12}" "$r" \
  "$([[ $r == ok ]] && echo match || echo mismatch), $secs s"

iperf() {  # iperf LABEL [-R]
  local label="$1" j mbit
  shift
  j=$(ip netns exec "$VC" timeout 20 iperf3 -c "$INET_IP" -t 3 -J "$@" 2>/dev/null)
  mbit=$(printf '%s' "$j" | "$TOPO_PYTHON" -c \
    'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' \
    2>/dev/null)
  if [[ -n "$mbit" ]]; then row "$label" ok "$mbit Mbit/s"; else row "$label" FAIL "no result"; fi
}
iperf "iperf3 TCP upload, vc -> inet (3 s)"
iperf "iperf3 TCP download, inet -> vc (3 s)" -R

cli_stop
restored=no
ip netns exec "$VC" grep -q "^nameserver $VS_WAN_IP" /etc/resolv.conf &&
  ! ip -n "$VC" route show table all | grep -q "$CLI_IFACE" && restored=yes
[[ "$CLI_EXIT_STATUS" == 0 && $restored == yes ]] && r=ok || r=FAIL
row "client stops, routes and DNS restored" "$r" "exit $CLI_EXIT_STATUS, restored: $restored"
((failed == 0))
