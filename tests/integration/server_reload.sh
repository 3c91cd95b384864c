#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGHUP reload of the server's configuration file, with traffic running across it.
#
#   $VC: wireguard-go wgr$$ (key "old", later "new")   $VS: slirpvpn server as nobody, wgh$$
#
# Test that: a SIGHUP with a changed file adds the new peer and updates a changed one while the
# old peer's rate-limited 2 MB download (about 5 s) goes on across the reload and completes
# with the right sha256; a bad file is logged with file:line and the running configuration
# kept; a peer added with `wg set` lasts only until the next reload (the file is the source
# of truth); the new peer then connects; a peer taken out of the file is disconnected.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
NAME=wgh$$
LINK="/var/run/wireguard/$NAME.sock"
trap 'srv_rc=$?; rm -f "$LINK"; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT
LOG="$TOPO_STATE/server.log"

OLD_PUB=$(srv_key old)
NEW_PUB=$(srv_key new)
EXTRA_PUB=$(srv_key extra)
old_peer="[Peer]
Name = old
PublicKey = $OLD_PUB"
srv_write_conf "$old_peer"
srv_start --name "$NAME" || die "server did not start"
mkdir -p /var/run/wireguard
ln -sf "$SRV_DIR/uapi.sock" "$LINK"
wgc_up "$VC" wgr$$ old || die "client did not come up"
check "the old peer reaches inet" nsexec "$VC" curl -sS -m 5 -o /dev/null "http://$INET_IP/"

hup() { kill -HUP "$(srv_pid)"; }

# Test that a reload leaves a running transfer of an unchanged peer alone.
bg "$VC" download bash -c "curl -sS --limit-rate 400k -m 30 'http://$INET_IP/blob.bin' | sha256sum > '$SRV_DIR/download.sha256'; echo \${PIPESTATUS[0]} > '$SRV_DIR/download.rc'"
sleep 1.5
srv_write_conf "$old_peer
PersistentKeepalive = 7

[Peer]
Name = new
PublicKey = $NEW_PUB"
hup
check "reload: one added, one updated" \
  wait_for "grep -q 'reload: 1 added, 0 removed, 1 updated, 0 unchanged' '$LOG'" 5
check "the new peer is listed at once" bash -c "wg show '$NAME' peers | grep -qxF '$NEW_PUB'"
check "the old peer's keepalive is updated" \
  bash -c "wg show '$NAME' persistent-keepalive | awk -v k='$OLD_PUB' '\$1 == k && \$2 == 7' | grep -q ."
check "the download was still running during the reload" test ! -e "$SRV_DIR/download.rc"
wait_for test -e "$SRV_DIR/download.rc" 30
check "the download across the reload completed (curl exit 0)" test "$(cat "$SRV_DIR/download.rc" 2>/dev/null)" = 0
check "the download's sha256 is right" \
  test "$(awk '{print $1}' "$SRV_DIR/download.sha256" 2>/dev/null)" = "$TOPO_BLOB_SHA256"

# Test that a bad file is refused with file:line and the running configuration kept.
cp -p "$SRV_DIR/server.conf" "$SRV_DIR/good.conf"
srv_write_conf "$old_peer
[Peer]
PublicKey = not-a-key"
hup
check "a bad file is logged with file:line and what" \
  wait_for "grep -q 'reload: .*server.conf:[0-9]*: PublicKey.*keeping the running configuration' '$LOG'" 5
check "the running peers are kept after a bad file" \
  bash -c "wg show '$NAME' peers | grep -qxF '$NEW_PUB' && wg show '$NAME' peers | grep -qxF '$OLD_PUB'"
check "the old peer still works after the bad file" \
  nsexec "$VC" curl -sS -m 5 -o /dev/null "http://$INET_IP/"

# Test that `wg set` changes last until the next reload.
wg set "$NAME" peer "$EXTRA_PUB" allowed-ips 10.0.2.15/32
check "wg set added a peer" bash -c "wg show '$NAME' peers | grep -qxF '$EXTRA_PUB'"
cp -p "$SRV_DIR/good.conf" "$SRV_DIR/server.conf"
hup
check "reload after wg set: the extra peer removed, the rest unchanged" \
  wait_for "grep -q 'reload: 0 added, 1 removed, 0 updated, 2 unchanged' '$LOG'" 5
check "the wg-set peer is gone" bash -c "! wg show '$NAME' peers | grep -qxF '$EXTRA_PUB'"

# Test that the peer added by the reload connects.
nsexec "$VC" wg set wgr$$ private-key "$SRV_DIR/new.key"
check "the new peer connects and fetches a page" \
  wait_for "ip netns exec '$VC' curl -sS -m 3 -o /dev/null 'http://$INET_IP/'" 20

# Test that a peer taken out of the file is disconnected (it works just above).
srv_write_conf "$old_peer"
hup
check "reload: the new peer removed" wait_for "grep -q 'reload: 0 added, 1 removed' '$LOG'" 5
check "the removed peer can no longer reach inet" \
  bash -c "! ip netns exec '$VC' curl -sS -m 4 -o /dev/null 'http://$INET_IP/'"

srv_stop
check "server exits 0 on SIGTERM" test "${SRV_EXIT_STATUS:-1}" -eq 0
summary
