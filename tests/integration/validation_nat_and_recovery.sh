#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client behind a NAT (nft masquerade random, 5 s UDP conntrack timeouts) to our server, and
# how the tunnel recovers by itself from the failures a real deployment sees.
#
#   $VC: slirpvpn client        $NAT                          $VS: slirpvpn server   $INET
#   wan0 198.51.100.66/26 ====> lan0 .65 | wan0 .2 =========> wan0 198.51.100.1 ===> 203.0.113.2
#   PersistentKeepalive = 3     masquerade random, UDP 5 s    (nobody, libslirp)
#
# Test that:
#  - after 60 s idle (12 NAT timeouts) traffic works at once: the keepalives hold the mapping;
#  - flushing the NAT's conntrack table during a rate-limited 2 MB download does not break it
#    (the client's next datagram makes a new mapping from a new port; the server follows it);
#  - each of these recovers by itself, with the time to recover printed and bounded: a client
#    restart, a server restart, the NAT's WAN link down for 15 s then up, the client's own
#    address changing (roaming).
set -uo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/server_env.sh
. "$HERE/lib/server_env.sh"
# shellcheck source=lib/client_env.sh
. "$HERE/lib/client_env.sh"

srv_trap
# The WAN firewall lets nothing through but the server's UDP port: the VPN must need nothing else.
topo_up_nat "$SRV_PORT"
start_inet_services
srv_init "$BUILD"
cli_init "$BUILD"
cli_resolv_conf "$VS_WAN_IP"

vpn_pair "$VS_WAN_IP:$SRV_PORT" 3
check "handshake through the NAT" cli_start || die "no handshake through the NAT"
check "ping through the NAT" nsexec "$VC" ping -c 3 -i 0.2 -W 2 "$INET_IP"

tunnel_ok() { ip netns exec "$VC" ping -c 1 -W 1 "$INET_IP" >/dev/null 2>&1; }
# recovery NAME BOUND_S: wait up to BOUND_S for traffic, from $t0 (ns); print and check the time.
recovery() {
  local name="$1" bound="$2" ms
  if wait_for tunnel_ok "$bound"; then
    ms=$((($(date +%s%N) - t0) / 1000000))
    printf '    recovery: %s after %d.%03d s\n' "$name" $((ms / 1000)) $((ms % 1000))
    pass "$name: traffic again within $bound s ($((ms / 1000)).$(printf '%03d' $((ms % 1000))) s)"
  else
    fail "$name: no traffic within $bound s"
    cli_log | tail -n 5 | sed 's/^/    | /'
  fi
}

# --- 60 s idle: the keepalives (every 3 s) keep the 5 s NAT mapping.
echo "    idle for 60 s"
sleep 60
ip netns exec "$NAT" conntrack -L -p udp 2>/dev/null | sed 's/^/    | /'
start=$(date +%s%N)
check "after 60 s idle the first ping is answered" nsexec "$VC" ping -c 1 -W 1 "$INET_IP"
echo "    first ping after idle: $((($(date +%s%N) - start) / 1000000)) ms"

# --- Conntrack flush in the middle of a download limited to 250 kB/s (about 8 s).
bg "$VC" slow-get sh -c "curl -sS --max-time 60 --limit-rate 250k --cacert '$TOPO_CA_FILE' \
  https://inet.test/blob.bin | sha256sum"
sleep 3
nsexec "$NAT" conntrack -F
check "conntrack flushed while the download was running" test -d "/proc/$(bg_pid slow-get)"
wait_for "! test -d /proc/$(bg_pid slow-get)" 60
check "the download survives the flush (sha256 matches)" \
  grep -q "^$TOPO_BLOB_SHA256 " "$TOPO_STATE/slow-get.log"
bg_stop slow-get

# --- Client restart.
t0=$(date +%s%N)
cli_stop
check "client restarts" cli_start
recovery "client restart" 10

# --- Server restart: the client's session is unknown to the new server until it notices
# (nothing heard for 15 s with keepalives going out) and makes a new handshake.
t0=$(date +%s%N)
bg_stop server
check "server restarts" srv_start
recovery "server restart" 30

# --- The NAT's WAN link down for 15 s (its mappings go with it), then up.
tunnel_ok || wait_for tunnel_ok 10
nsexec "$NAT" ip link set wan0 down
sleep 15
check "no traffic while the link is down" bash -c "! ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'"
nsexec "$NAT" ip link set wan0 up
t0=$(date +%s%N)
recovery "WAN link down 15 s, then up" 20

# --- Roaming: vc's WAN address changes from .66 to .67 (the old one is removed).
nsexec "$VC" sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
t0=$(date +%s%N)
nsexec "$VC" ip addr add 198.51.100.67/26 dev wan0
nsexec "$VC" ip addr del "$VC_WAN_IP/26" dev wan0
# The topology's own route to the server's /26 (the kernel may drop it with the old address).
nsexec "$VC" ip route replace 198.51.100.0/26 via "$NAT_LAN_IP"
recovery "client address change (roaming)" 15
check "the NAT maps the new address 198.51.100.67" bash -c \
  "ip netns exec '$NAT' conntrack -L -p udp 2>/dev/null | grep -q 'src=198.51.100.67 '"

cli_stop
check "client exits 0" test "$CLI_EXIT_STATUS" = 0
summary
