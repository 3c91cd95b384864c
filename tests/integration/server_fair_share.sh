#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fair shares under a bulk peer (issue 8): one server with two peers, "bulk" (our client in vc)
# and "light" (wireguard-go in vc2). bulk downloads with 4 TCP flows as fast as the tunnel goes
# while light pings through the same server: every ping must be answered, and the server's
# drops line shows how often each ring refused bulk's excess (fair_share_in/out) or was full.
# (The admission rule itself, with its control, is tests/unit/net/fair_share_test.cpp.)
# Usage: server_fair_share.sh BUILD_DIR (as root).
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib/topology.sh"
. "$HERE/lib/server_env.sh"

srv_trap
topo_up
start_inet_services
srv_init "$BUILD"

srv_second_client

. "$HERE/lib/client_env.sh"
cli_init "$BUILD"
BULK=$(srv_key bulk)
cp "$SRV_DIR/bulk.key" "$CLI_DIR/client.key"
LIGHT=$(srv_key light)
srv_write_conf "$(printf '[Peer]\nName = bulk\nPublicKey = %s\n\n[Peer]\nName = light\nPublicKey = %s\n' \
  "$BULK" "$LIGHT")"
srv_start || die "the server did not start"
cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.0.2.15/32

[Peer]
PublicKey = $SRV_PUB
Endpoint = $VS_WAN_IP:$SRV_PORT
AllowedIPs = 0.0.0.0/0"
cli_start || die "our client (bulk) did not come up"
wgc_up "$VC2" "wgl$$" light "" "198.51.100.129:$SRV_PORT" || die "the light peer did not come up"
wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 15 || die "bulk does not reach inet"
wait_for "ip netns exec '$VC2' ping -c 1 -W 1 '$INET_IP'" 15 || die "light does not reach inet"

nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 8 -R -P 4 -J >"$TOPO_STATE/bulk.json" 2>"$TOPO_STATE/bulk.err" &
bulk_pid=$!
sleep 1
nsexec "$VC2" ping -c 100 -i 0.05 -W 2 "$INET_IP" >"$TOPO_STATE/light-ping.out" 2>&1
wait "$bulk_pid"
bulk_mbits=$("$TOPO_PYTHON" -c 'import json, sys
try:
    print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)' "$TOPO_STATE/bulk.json")
tail -n 2 "$TOPO_STATE/light-ping.out" | sed 's/^/    /'
[[ $bulk_mbits == 0 ]] && sed 's/^/    | /' "$TOPO_STATE/bulk.json" | tail -n 5
check "bulk downloads at $bulk_mbits Mbit/s (4 flows, past 100)" test "$bulk_mbits" -gt 100
check "every one of light's 100 pings during bulk's download was answered" \
  grep -q ' 100 received' "$TOPO_STATE/light-ping.out"
stats=$(srv_stats)
printf '%s\n' "$stats" | grep 'drops:' | sed 's/^/    /'
cli_stop
srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
