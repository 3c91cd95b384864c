#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `slirpvpn client --kill-switch-only` (what slirpvpn-killswitch@.service runs at boot).
#
#   $VC: the client host, kill switch armed alone (no TUN, no client process)   $VS: the WAN peer
#
# Test that: arming it exits 0 and leaves our nft table; with it, the WAN peer that answered a
# ping before no longer does and nothing else leaves either; `client --down` removes it and the
# ping works again; a name endpoint that does not resolve and is not cached is refused.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"

topo_trap
topo_up
SLIRPVPN=$(realpath "$BUILD/slirpvpn")
IFACE=ks$$
DIR="$TOPO_STATE/client"
mkdir -p "$DIR/state"
chmod 700 "$DIR"
(umask 077 && "$SLIRPVPN" genkey >"$DIR/client.key") || die "genkey"
SERVER_PUB=$("$SLIRPVPN" genkey | "$SLIRPVPN" pubkey)
write_conf() {
  (umask 077 && printf '[Interface]\nPrivateKey = %s\nAddress = 10.0.2.15/32\nKillSwitch = true\n\n[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = 0.0.0.0/0\n' \
    "$(cat "$DIR/client.key")" "$SERVER_PUB" "$1" >"$DIR/$IFACE.conf")
}
write_conf "$VS_WAN_IP:51820"
TABLE="slirpvpn_$IFACE"

check "before: the WAN peer answers a ping" nsexec "$VC" ping -c 1 -W 2 "$VS_WAN_IP"
# Test that arming only the kill switch blocks what got through just above.
check "--kill-switch-only exits 0" nsexec "$VC" "$SLIRPVPN" client --kill-switch-only \
  -c "$DIR/$IFACE.conf" --state-dir "$DIR/state"
check "our nft table exists" nsexec "$VC" nft list table inet "$TABLE"
check "no client process and no TUN device" bash -c "! ip netns exec '$VC' ip link show '$IFACE' 2>/dev/null"
check "armed: the ping is blocked" bash -c "! ip netns exec '$VC' ping -c 1 -W 2 '$VS_WAN_IP' >/dev/null 2>&1"

# Test that --down disarms it.
check "client --down exits 0" nsexec "$VC" "$SLIRPVPN" client --down -c "$DIR/$IFACE.conf" \
  --state-dir "$DIR/state"
check "the table is gone" bash -c "! ip netns exec '$VC' nft list table inet '$TABLE' 2>/dev/null"
check "after --down: the ping works again" nsexec "$VC" ping -c 1 -W 2 "$VS_WAN_IP"

# Test that an endpoint name it cannot resolve (no DNS in vc) and has not cached is refused.
write_conf "vpn.invalid:51820"
check "an unresolvable, uncached name is refused" bash -c "! ip netns exec '$VC' '$SLIRPVPN' client --kill-switch-only -c '$DIR/$IFACE.conf' --state-dir '$DIR/state'"
check "and no table is left" bash -c "! ip netns exec '$VC' nft list table inet '$TABLE' 2>/dev/null"
summary
