#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The client's host changes: nothing leaks around a full tunnel, a stop leaves the host as it
# was, the kill switch survives kill -9 until --down, one client per interface, split tunnels.
#
#   $VC: slirpvpn client                $VS: wireguard-go wgs$$          $INET
#   TUN slc$$ 10.7.0.2/32               10.7.0.1/24, UDP 51820           203.0.113.2
#   wan0 198.51.100.2  <===============> forwarding + masquerade <=====> dnsmasq, HTTP(S)
#   (kill switch part: default route via 198.51.100.1, so inet is reachable without the VPN)
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(dirname "$(realpath "$0")")
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/client_env.sh
. "$HERE/lib/client_env.sh"
cleanup() { rm -f "/etc/netns/$VC/hosts"; wgo_cleanup; }
trap 'topo_rc=$?; trap - EXIT; cleanup; topo_down; exit $topo_rc' EXIT
trap 'cleanup; topo_down; trap - EXIT; exit 130' INT
trap 'cleanup; topo_down; trap - EXIT; exit 143' TERM

topo_up
start_inet_services
cli_init "$BUILD"
cli_resolv_conf "$INET_IP"
# The endpoint by name, from vc's own hosts file (ip netns exec bind-mounts it too).
printf '%s vpn-server.test\n' "$VS_WAN_IP" >"/etc/netns/$VC/hosts"
CLIENT_PUB=$(cli_key client)
wgo_server_up "$CLIENT_PUB"
CAPTURE="$TOPO_STATE/wan0.pcap"

conf() {  # conf ALLOWED_IPS KILL_SWITCH
  cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.7.0.2/32
DNS = $INET_IP
KillSwitch = $2

[Peer]
PublicKey = $WGO_PUB
Endpoint = vpn-server.test:51820
AllowedIPs = $1
PersistentKeepalive = 25"
}
capture_start() {
  rm -f "$CAPTURE"
  bg "$VC" tcpdump tcpdump -i wan0 -n -U --immediate-mode -w "$CAPTURE"
  wait_for "grep -q 'listening on' '$TOPO_STATE/tcpdump.log'" || die "tcpdump did not start"
}
# --immediate-mode: without it packets wait in the kernel's ring block for up to a second,
# and a stopped tcpdump never writes them.
capture_stop() {
  sleep 0.3
  bg_stop tcpdump
  tcpdump -r "$CAPTURE" -n 2>/dev/null | awk '{print "    capture: " $0}' | tail -n 5
}
# Packets in the capture that match a filter.
captured() { tcpdump -r "$CAPTURE" -n "$1" 2>/dev/null | wc -l; }
same_file() {
  if ! cmp -s "$1" "$2"; then
    diff "$1" "$2"
    return 1
  fi
}

# Test that a client without CAP_NET_ADMIN says which capability it needs and how to get it.
conf "0.0.0.0/0, ::/0" false
check "no CAP_NET_ADMIN: clear message" sh -c "ip netns exec '$VC' setpriv --reuid=nobody \
  --regid=nogroup --clear-groups --inh-caps=-all '$SLIRPVPN' client -c '$CLI_DIR/$CLI_IFACE.conf' \
  --state-dir '$CLI_DIR/run' 2>&1 | grep -q 'CAP_NET_ADMIN.*root.*setcap'"

# Test that with a full tunnel only UDP to the endpoint leaves vc in the clear.
cli_snapshot "$TOPO_STATE/before-full.txt"
check "full tunnel: client up" cli_start
capture_start
check "full tunnel: ping 203.0.113.2" nsexec "$VC" ping -c 3 -i 0.2 -W 3 "$INET_IP"
check "full tunnel: HTTP" nsexec "$VC" curl -sS --max-time 10 -o /dev/null http://inet.test/
check "full tunnel: ip rule not fwmark" sh -c "ip -n '$VC' rule | grep -q 'not from all fwmark'"
check "full tunnel: ::/0 stays out of the WAN" sh -c \
  "ip -n '$VC' -6 route show table all | grep -q '^unreachable default'"
capture_stop
check "capture: UDP to the endpoint seen" test "$(captured "udp and port 51820")" -gt 0
check "capture: nothing else in the clear" test "$(captured "ip and not (udp and port 51820)")" = 0
check "capture: no plaintext to 203.0.113.2" test "$(captured "host $INET_IP")" = 0

# Test that a second client on the same interface is refused, and the first one goes on.
check "second client refused" sh -c "ip netns exec '$VC' '$SLIRPVPN' client \
  -c '$CLI_DIR/$CLI_IFACE.conf' --state-dir '$CLI_DIR/run' 2>&1 |
  grep -q 'already running on interface $CLI_IFACE'"
check "first client still works" nsexec "$VC" ping -c 1 -W 3 "$INET_IP"
check "--down refused while it runs" sh -c "! ip netns exec '$VC' '$SLIRPVPN' client --down \
  -c '$CLI_DIR/$CLI_IFACE.conf' --state-dir '$CLI_DIR/run'"

# Test that a normal stop restores routes, rules, nft and resolv.conf byte for byte.
cli_stop
cli_snapshot "$TOPO_STATE/after-full.txt"
check "full tunnel: stop exits 0" test "$CLI_EXIT_STATUS" = 0
check "full tunnel: host restored" same_file "$TOPO_STATE/before-full.txt" "$TOPO_STATE/after-full.txt"

# Test that a split tunnel routes only the listed prefixes: no rules, no default route.
conf "$INET_IP/32, 10.7.0.0/24" false
cli_snapshot "$TOPO_STATE/before-split.txt"
check "split tunnel: client up" cli_start
check "split tunnel: route to 203.0.113.2 via the TUN" sh -c \
  "ip -n '$VC' route get '$INET_IP' | grep -q 'dev $CLI_IFACE'"
check "split tunnel: 203.0.113.3 not via the TUN" sh -c \
  "! ip -n '$VC' route get 203.0.113.3 2>/dev/null | grep -q 'dev $CLI_IFACE'"
check "split tunnel: no policy rules" sh -c "! ip -n '$VC' rule | grep -q fwmark"
check "split tunnel: ping 203.0.113.2" nsexec "$VC" ping -c 2 -i 0.2 -W 3 "$INET_IP"
cli_stop
cli_snapshot "$TOPO_STATE/after-split.txt"
check "split tunnel: host restored" same_file "$TOPO_STATE/before-split.txt" \
  "$TOPO_STATE/after-split.txt"

# Test that the kill switch holds after kill -9 and --down lifts it. First a direct path to
# inet through vs (it forwards and masquerades already), shown working without the client.
nsexec "$VC" ip route add default via "$VS_WAN_IP"
capture_start
check "direct: HTTP without the VPN" nsexec "$VC" curl -sS --max-time 5 -o /dev/null "http://$INET_IP/"
capture_stop
# The capture below must be able to fail: here it does see plaintext HTTP.
check "direct: capture sees the plaintext TCP" test "$(captured "tcp and host $INET_IP")" -gt 0
check "direct: DNS without the VPN" sh -c \
  "ip netns exec '$VC' dig +time=2 +tries=1 +short @'$INET_IP' inet.test | grep -qx '$INET_IP'"
conf "0.0.0.0/0, ::/0" true
cli_snapshot "$TOPO_STATE/before-ks.txt"
check "kill switch: client up" cli_start
check "kill switch: nft table present" ip netns exec "$VC" nft list table inet "slirpvpn_$CLI_IFACE"
check "kill switch: HTTP through the tunnel" nsexec "$VC" curl -sS --max-time 10 -o /dev/null \
  http://inet.test/
kill -KILL "$(bg_pid client)"
wait_for "! ip -n '$VC' link show '$CLI_IFACE'" 5 || true
rm -f "$TOPO_STATE/client.pid"
capture_start
check "after kill -9: TCP connect to 203.0.113.2 fails" sh -c \
  "! ip netns exec '$VC' curl -sS --max-time 5 -o /dev/null 'http://$INET_IP/'"
check "after kill -9: DNS to the previous resolver fails" sh -c \
  "! ip netns exec '$VC' dig +time=2 +tries=1 +short @'$INET_IP' inet.test"
check "after kill -9: ping fails" sh -c "! ip netns exec '$VC' ping -c 1 -W 2 '$INET_IP'"
capture_stop
check "after kill -9: nothing in the clear" test "$(captured "ip")" = 0

# Test that a restart under the kill switch needs no DNS: the endpoint name is now unknown
# to vc's hosts file, so only the cached address can bring the tunnel up.
: >"/etc/netns/$VC/hosts"
check "restart under the kill switch (cached endpoint)" cli_start
check "log: cached endpoint used" grep -q "cached: the kill switch blocks DNS" \
  "$TOPO_STATE/client.log"
check "restarted: HTTP through the tunnel" nsexec "$VC" curl -sS --max-time 10 -o /dev/null \
  http://inet.test/
kill -KILL "$(bg_pid client)"
wait_for "! ip -n '$VC' link show '$CLI_IFACE'" 5 || true
rm -f "$TOPO_STATE/client.pid"
check "still blocked after the second kill -9" sh -c \
  "! ip netns exec '$VC' curl -sS --max-time 3 -o /dev/null 'http://$INET_IP/'"

# Test that --down removes the kill switch and everything else, and connectivity is back.
check "--down exits 0" nsexec "$VC" "$SLIRPVPN" client --down -c "$CLI_DIR/$CLI_IFACE.conf" \
  --state-dir "$CLI_DIR/run"
cli_snapshot "$TOPO_STATE/after-ks.txt"
check "--down: host restored" same_file "$TOPO_STATE/before-ks.txt" "$TOPO_STATE/after-ks.txt"
check "--down: HTTP direct again" nsexec "$VC" curl -sS --max-time 5 -o /dev/null "http://$INET_IP/"
check "--down: DNS direct again" sh -c \
  "ip netns exec '$VC' dig +time=2 +tries=1 +short inet.test | grep -qx '$INET_IP'"
summary
