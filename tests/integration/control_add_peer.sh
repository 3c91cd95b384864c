#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `slirpvpn add-peer` / `remove-peer` / `show` against a running, unprivileged server.
#
#   $VC: wireguard-go wgp$$, configured from the      $VS: slirpvpn server as nobody, interface
#        printed client file as it is (`wg-quick          aps$$, socket linked into
#        strip` + `wg setconf`, its Address and DNS       /var/run/wireguard/aps$$.sock
#        lines applied with ip and resolv.conf)
#
# Test that: add-peer appends one [Peer] and leaves every other byte, the mode and the owner of
# the file as they were; the running server knows the peer at once; the printed configuration,
# used unchanged, connects and fetches a page by name (DNS 10.0.2.3); the PNG QR code decodes
# to exactly the printed configuration; `slirpvpn show` (text and --json) reports the peer, its
# handshake and its slirp flows; remove-peer restores the file byte for byte and disconnects.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
NAME=aps$$
IFACE=wgp$$
LINK="/var/run/wireguard/$NAME.sock"
trap 'srv_rc=$?; rm -f "$LINK"; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT

OLD_PUB=$(srv_key old)
srv_write_conf "# the first client, by hand
[Peer]
Name = old
PublicKey = $OLD_PUB"
CONF="$SRV_DIR/server.conf"
cp -p "$CONF" "$SRV_DIR/original.conf"
srv_start --name "$NAME" || die "server did not start"
mkdir -p /var/run/wireguard
ln -sf "$SRV_DIR/uapi.sock" "$LINK"

# Test that add-peer writes the file and tells the running server.
"$SLIRPVPN" add-peer -c "$CONF" --interface "$NAME" --name phone --endpoint "$VS_WAN_IP:$SRV_PORT" \
  --qr-png "$SRV_DIR/phone.png" >"$SRV_DIR/printed.conf" 2>"$SRV_DIR/add-peer.err"
check "add-peer exits 0" test $? -eq 0
sed 's/^/    | /' "$SRV_DIR/add-peer.err" >&2
check "add-peer applied the change to the running server" grep -q 'applied to the running server' \
  "$SRV_DIR/add-peer.err"
original_size=$(stat -c %s "$SRV_DIR/original.conf")
check "the old file is a byte-identical prefix of the new one" \
  cmp -n "$original_size" "$SRV_DIR/original.conf" "$CONF"
check "the file keeps its mode and owner (600 nobody)" test "$(stat -c '%a %U' "$CONF")" = "600 nobody"
PHONE_PUB=$(awk -F' = ' '/^PublicKey/ {k=$2} END {print k}' "$CONF")
check "the new [Peer] is named phone" grep -qx 'Name = phone' "$CONF"
check "slirpvpn show names the new peer at once" \
  bash -c "'$SLIRPVPN' show '$NAME' | awk '/^peer: /{p=\$2} p==\"$PHONE_PUB\"' | grep -qx '  name: phone'"
check "the running server lists the new peer (stock wg)" \
  bash -c "wg show '$NAME' peers | grep -qxF '$PHONE_PUB'"
printed_pub=$(awk -F' = ' '/^PrivateKey/ {print $2}' "$SRV_DIR/printed.conf" | "$SLIRPVPN" pubkey)
check "the printed private key belongs to the new peer" test "$printed_pub" = "$PHONE_PUB"
check "the printed config has the wg-quick lines" bash -c "
  grep -qx 'DNS = 10.0.2.3' '$SRV_DIR/printed.conf' &&
  grep -qx 'AllowedIPs = 0.0.0.0/0, ::/0' '$SRV_DIR/printed.conf' &&
  grep -qx 'PersistentKeepalive = 25' '$SRV_DIR/printed.conf' &&
  grep -qx 'Endpoint = $VS_WAN_IP:$SRV_PORT' '$SRV_DIR/printed.conf' &&
  grep -qx 'PublicKey = $SRV_PUB' '$SRV_DIR/printed.conf'"

# Test that the QR code holds exactly the printed configuration.
zbarimg --raw -q "$SRV_DIR/phone.png" 2>/dev/null >"$SRV_DIR/decoded.txt"
check "the QR code decodes" test -s "$SRV_DIR/decoded.txt"
check "the QR code is the printed configuration, byte for byte" \
  cmp <(printf '%s\n' "$(cat "$SRV_DIR/decoded.txt")") "$SRV_DIR/printed.conf"

# Test that a stock client connects with the printed file, unchanged.
bg "$VC" "wggo-$IFACE" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$IFACE"
SRV_IFACES+=("$IFACE")
wait_for test -S "/var/run/wireguard/$IFACE.sock" 10 || die "wireguard-go did not start"
wg-quick strip "$SRV_DIR/printed.conf" >"$SRV_DIR/stripped.conf" || die "wg-quick strip failed"
nsexec "$VC" wg setconf "$IFACE" "$SRV_DIR/stripped.conf" || die "wg setconf failed"
for address in $(awk -F' = ' '/^Address/ {print $2}' "$SRV_DIR/printed.conf" | tr ',' ' '); do
  # The topology has IPv6 off on its links; the IPv4 address is the one the test needs.
  nsexec "$VC" ip addr add "$address" dev "$IFACE" || [[ $address == *:* ]] || die "ip addr $address"
done
nsexec "$VC" ip link set "$IFACE" up
nsexec "$VC" ip route add default dev "$IFACE"
mkdir -p "/etc/netns/$VC"
dns=$(awk -F' = ' '/^DNS/ {print $2}' "$SRV_DIR/printed.conf")
printf '# slirpvpn topology.sh %s (removed by topo_down)\nnameserver %s\n' "$TOPO_ID" "$dns" \
  >"/etc/netns/$VC/resolv.conf"
check "the new client fetches a page by name through the tunnel" \
  wait_for "ip netns exec '$VC' curl -sS -m 3 -o /dev/null http://inet.test/" 20

# Test that `slirpvpn show` reports it, with what only slirpvpn has.
nsexec "$VC" curl -sS -m 10 -o /dev/null "http://$INET_IP/blob.bin"
show=$("$SLIRPVPN" show "$NAME")
printf '%s\n' "$show" | sed 's/^/    | /' >&2
check "show: interface and the server's public key" \
  bash -c "printf '%s' '$show' | grep -q 'interface: $NAME' && printf '%s' '$show' | grep -qF 'public key: $SRV_PUB'"
check "show: the phone peer with a handshake and a transfer line" bash -c "
  printf '%s\n' '$show' | awk '/^peer: /{p=\$2} p==\"$PHONE_PUB\"' | grep -q 'latest handshake' &&
  printf '%s\n' '$show' | awk '/^peer: /{p=\$2} p==\"$PHONE_PUB\"' | grep -q 'transfer: .* received'"
check "show: the phone peer's slirp line" bash -c "
  printf '%s\n' '$show' | awk '/^peer: /{p=\$2} p==\"$PHONE_PUB\"' | grep -q 'slirp: [0-9]* tcp flows\\?, [0-9]* udp flows\\?'"
check "show: the old peer has no slirp network yet" bash -c "
  printf '%s\n' '$show' | awk '/^peer: /{p=\$2} p==\"$OLD_PUB\"' | grep -q 'slirp: no network'"
"$SLIRPVPN" show "$NAME" --json >"$SRV_DIR/show.json"
check "show --json: one object, the phone peer active with a recent handshake and bytes" \
  "$TOPO_PYTHON" - "$SRV_DIR/show.json" "$PHONE_PUB" <<'PY'
import json, sys, time
data = json.load(open(sys.argv[1]))
peer = next(p for p in data["peers"] if p["public_key"] == sys.argv[2])
assert data["listen_port"] == 51820, data
assert peer["slirp_active"] is True, peer
assert isinstance(peer["tcp_flows"], int) and isinstance(peer["udp_flows"], int), peer
assert time.time() - peer["latest_handshake"] < 30, peer
assert peer["rx_bytes"] > 0 and peer["tx_bytes"] > 2000000, peer
assert "private_key" not in json.dumps(data), "key material in the JSON"
PY
# Test that a flow held open is counted while it lasts (an idle TCP connection to inet).
bg "$VC" idle-flow "$TOPO_PYTHON" -c "import socket,time; s=socket.create_connection(('$INET_IP', 80)); time.sleep(30)"
check "show --json counts the open TCP flow" wait_for "'$SLIRPVPN' show '$NAME' --json | '$TOPO_PYTHON' -c \"import json,sys; d=json.load(sys.stdin); p=[p for p in d['peers'] if p['public_key']=='$PHONE_PUB'][0]; sys.exit(0 if p['tcp_flows'] >= 1 else 1)\"" 10
bg_stop idle-flow

# Test that remove-peer restores the file and disconnects the client (proven connected above).
"$SLIRPVPN" remove-peer -c "$CONF" --interface "$NAME" --name phone
check "remove-peer exits 0" test $? -eq 0
check "the file is the original again, byte for byte" cmp "$SRV_DIR/original.conf" "$CONF"
check "the file keeps its mode and owner" test "$(stat -c '%a %U' "$CONF")" = "600 nobody"
check "the running server no longer lists the peer" \
  bash -c "! wg show '$NAME' peers | grep -qxF '$PHONE_PUB'"
check "the removed client can no longer reach inet" \
  bash -c "! ip netns exec '$VC' curl -sS -m 4 -o /dev/null 'http://$INET_IP/'"
check "remove-peer of an unknown name fails" \
  bash -c "! '$SLIRPVPN' remove-peer -c '$CONF' --interface '$NAME' --name nobody-here 2>/dev/null"

srv_stop
check "server exits 0 on SIGTERM" test "${SRV_EXIT_STATUS:-1}" -eq 0
summary
