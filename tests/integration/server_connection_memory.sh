#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What an open TCP flow costs the server in memory (issues 6 and 8). Each flow through libslirp
# has two 4 MiB socket buffers (patch 0002); only the pages that data reaches may become
# resident. Before patch 0007, once the first flows had closed (glibc's mmap threshold then rises
# past 4 MiB), every new flow copied both buffers when its SYN was handled: 100 idle flows made
# the server's RSS grow by about 820 MiB, so an authenticated peer could exhaust the host's
# memory with flows its limits allow.
#
# Our client in vc holds 100 idle TCP connections to inet:5201 (iperf3's listener) open through
# the server, closes them, then opens 100 again. Test that:
#   - the flows were really open both times (`slirpvpn show`: tcp_flows >= 100), so the memory
#     figure is one of 100 live flows;
#   - the server's RSS grew by at most 256 KiB per flow in the second round (about 20 KiB
#     measured with patch 0007; 8.2 MiB without it).
# Usage: server_connection_memory.sh BUILD_DIR (as root).
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"

FLOWS=100
PER_FLOW_KIB=256
. "$HERE/lib/client_env.sh"
cli_init "$BUILD"
KEY=$(srv_key vc)
srv_write_conf "$(printf '[Peer]\nName = vc\nPublicKey = %s\n' "$KEY")"
srv_start || die "the server did not start"
cli_use_server vc
cli_start || die "our client did not come up"
wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 15 || die "the client does not reach inet"
wait_tcp_listen "$INET" "$INET_IP" 5201 || die "iperf3 does not listen"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$(srv_pid)/status"; }
tcp_flows() {
  "$SLIRPVPN" show --socket "$SRV_DIR/uapi.sock" --json | "$TOPO_PYTHON" -c '
import json, sys
print(next(p for p in json.load(sys.stdin)["peers"] if p.get("name") == "vc").get("tcp_flows", 0))'
}

# hold ROUND: opens $FLOWS connections, records the RSS and the flow count while they are open
# ($HELD_RSS, $HELD_FLOWS; the holder waits for the file "release"), then closes them.
hold() {
  local round="$1" holder
  rm -f "$TOPO_STATE/release" "$TOPO_STATE/opened"
  nsexec "$VC" timeout 30 "$TOPO_PYTHON" -c '
import os, socket, sys, time
held = [socket.create_connection((sys.argv[1], 5201), timeout=5) for _ in range(int(sys.argv[2]))]
open(sys.argv[3] + "/opened", "w").close()
deadline = time.time() + 20
while not os.path.exists(sys.argv[3] + "/release") and time.time() < deadline:
    time.sleep(0.1)
' "$INET_IP" "$FLOWS" "$TOPO_STATE" &
  holder=$!
  wait_for "test -e '$TOPO_STATE/opened'" 20 || die "round $round: the connections did not open"
  sleep 1
  HELD_RSS=$(rss_kib)
  HELD_FLOWS=$(tcp_flows)
  touch "$TOPO_STATE/release"
  wait "$holder"
  sleep 2  # slirp closes its side once the FINs are through
}

rss_start=$(rss_kib)
hold 1
rss_open_1=$HELD_RSS flows_1=$HELD_FLOWS
rss_between=$(rss_kib)
hold 2
rss_open_2=$HELD_RSS flows_2=$HELD_FLOWS
echo "    RSS: $rss_start KiB at start, $rss_open_1 with $flows_1 flows open, $rss_between after" \
  "they closed, $rss_open_2 with $flows_2 open again"
check "round 1: $flows_1 TCP flows open (>= $FLOWS)" test "${flows_1:-0}" -ge "$FLOWS"
check "round 2: $flows_2 TCP flows open (>= $FLOWS)" test "${flows_2:-0}" -ge "$FLOWS"
grown=$((rss_open_2 - rss_between))
check "round 2: RSS grew by $((grown / FLOWS)) KiB per open flow (<= $PER_FLOW_KIB)" \
  test "$grown" -le $((FLOWS * PER_FLOW_KIB))
cli_stop
srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
