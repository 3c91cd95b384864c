#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The stock `wg` tool against the running, unprivileged slirpvpn server (the UAPI socket).
#
#   $VC: wireguard-go client wgc$$        $VS: slirpvpn server as nobody, interface name wgs$$,
#        (full tunnel, 10.0.2.15)              socket in its own state dir, linked into
#                                               /var/run/wireguard/wgs$$.sock (as a service's
#                                               ExecStartPre=+ step would)
#
# Test that: `wg show` lists the peer, its endpoint, a handshake within the last 10 s and
# transfer counters that grow; the socket is mode 0600 and owned by the server's user;
# `wg set … remove` disconnects the peer; `wg set` adds a peer that can then connect.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
NAME=wgs$$
SOCKET="$SRV_DIR/uapi.sock"  # where srv_start puts the control socket
LINK="/var/run/wireguard/$NAME.sock"
trap 'srv_rc=$?; rm -f "$LINK"; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT

VC_PUB=$(srv_key vc)
NEW_PUB=$(srv_key newcomer)
srv_write_conf "[Peer]
PublicKey = $VC_PUB"
srv_start --name "$NAME" || die "server did not start"
mkdir -p /var/run/wireguard
ln -sf "$SOCKET" "$LINK"

check "control socket is 0600 and owned by nobody" \
  test "$(stat -c '%a %U' "$SOCKET")" = "600 nobody"

wgc_up "$VC" wgc$$ vc || die "client did not come up"
check "traffic through the tunnel" nsexec "$VC" ping -c 2 -W 2 "$INET_IP"

show=$(wg show "$NAME" dump)
echo "$show"
# dump: peer lines are: public-key preshared endpoint allowed-ips latest-handshake rx tx keepalive
peer_line=$(printf '%s\n' "$show" | awk -v k="$VC_PUB" '$1 == k')
check "wg show lists the peer" test -n "$peer_line"
check "wg show: the peer's endpoint is vc's address" \
  bash -c "printf '%s' '$peer_line' | awk '{print \$3}' | grep -q '^198.51.100.2:'"
check "wg show: allowed ips are the defaults" \
  bash -c "printf '%s' '$peer_line' | awk '{print \$4}' | grep -qx '10.0.2.15/32,fec0::15/128'"
handshake=$(printf '%s' "$peer_line" | awk '{print $5}')
check "wg show: handshake within the last 10 s" test $(($(date +%s) - ${handshake:-0})) -le 10
rx1=$(printf '%s' "$peer_line" | awk '{print $6}')
nsexec "$VC" curl -sS -m 20 -o /dev/null "http://$INET_IP/blob.bin"
rx2=$(wg show "$NAME" dump | awk -v k="$VC_PUB" '$1 == k {print $6}')
check "wg show: transfer counters grow" test "${rx2:-0}" -gt "${rx1:-0}"
check "wg show (human output) names the interface" bash -c "wg show '$NAME' | grep -q 'interface: $NAME'"

# Test that removing the peer disconnects it (first proven connected above).
check "wg set remove" wg set "$NAME" peer "$VC_PUB" remove
check "the removed peer is gone from wg show" bash -c "! wg show '$NAME' peers | grep -qF '$VC_PUB'"
check "the removed peer can no longer reach inet" \
  bash -c "! ip netns exec '$VC' curl -sS -m 4 -o /dev/null 'http://$INET_IP/'"

# Test that a peer added at run time can connect (its key was unknown to the server before).
check "wg set adds a new peer" wg set "$NAME" peer "$NEW_PUB" allowed-ips 10.0.2.15/32
nsexec "$VC" wg set wgc$$ private-key "$SRV_DIR/newcomer.key"
check "the new peer connects and fetches a page" \
  wait_for "ip netns exec '$VC' curl -sS -m 3 -o /dev/null 'http://$INET_IP/'" 20
check "wg show lists the new peer with a handshake" \
  bash -c "wg show '$NAME' latest-handshakes | awk -v k='$NEW_PUB' '\$1 == k && \$2 > 0' | grep -q ."

srv_stop
check "server exits 0 on SIGTERM" test "${SRV_EXIT_STATUS:-1}" -eq 0
check "the control socket is removed on exit" test ! -e "$SOCKET"
summary
