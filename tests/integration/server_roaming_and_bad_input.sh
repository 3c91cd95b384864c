#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The slirpvpn server under roaming and hostile input, with a stock WireGuard client
# (wireguard-go) reaching it through the user-space WAN emulator acting as a NAT.
#
#   $VC                                                    $VS                      $INET
#  +-----------------------------------------------+     +---------------------+   +-----------+
#  | wgc$$ (wireguard-go) 10.0.2.15, default route |     | slirpvpn server     |   | HTTP blob |
#  |   endpoint 127.0.0.1:52820                    |     |  (nobody), UDP 51820|<=>| 203.0.113.2
#  | slirpvpn-wanem -l 127.0.0.1:52820             |     |  peers: vc, rogue   |   +-----------+
#  |   -t 198.51.100.1:51820 (SIGUSR1: new port)   |====>|                     |
#  | slirpvpn-wgjunk (rogue peer + junk), direct   |====>| wan0 198.51.100.1   |
#  | wan0 198.51.100.2/24                          |     +---------------------+
#  +-----------------------------------------------+
#
# Test that: a 2 MB download completes intact while the client's source port changes under it,
# once by a NAT rebinding (wanem, the client does not notice) and once by the client itself
# (`wg set listen-port`), and the server's stats follow the new endpoint; random and truncated
# datagrams, initiations from unknown keys, replayed transport packets and inner packets from a
# source outside the peer's AllowedIPs get no answer, are counted by reason in the SIGUSR1
# stats, and do not disturb a download running at the same time.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
[[ -x "$WANEM" ]] || die "no slirpvpn-wanem in $BUILD/tools/wanem"
[[ -x "$WGJUNK" ]] || die "no slirpvpn-wgjunk in $BUILD/tools/wgjunk"
WG=wgc$$
RELAY=127.0.0.1:52820

VC_PUB=$(srv_key vc)
ROGUE_PUB=$(srv_key rogue)
srv_write_conf "[Peer]
Name = vc
PublicKey = $VC_PUB

[Peer]
Name = rogue
PublicKey = $ROGUE_PUB"
srv_start --log-level info || die "the server did not start (log above)"

# 2 Mbit/s towards the client: a 2 MB download takes about 8 s, long enough to change ports
# and to send all the junk in its middle (curl --limit-rate is too coarse for that).
bg "$VC" wanem "$WANEM" -l "$RELAY" -t "$VS_WAN_IP:$SRV_PORT" --down-rate 2
wait_udp_listen "$VC" 52820 || die "wanem did not start"
# PersistentKeepalive 1: after a NAT rebinding the server learns the new port only from the
# client's next packet; a receiving client whose in-flight data died with the old mapping has
# nothing to send (no new data, nothing to ACK) until a keepalive, as with any WireGuard.
wgc_up "$VC" "$WG" vc 40000 "$RELAY" 1 || die "wireguard-go did not come up"
check "ping inet through wanem and the tunnel" nsexec "$VC" ping -c 2 -i 0.3 -W 5 "$INET_IP"

# download NAME: the blob through the tunnel in the background ($DL_PID); its sha256 lands in
# $TOPO_STATE/NAME.sha when done.
download() {
  local name="$1"
  (ip netns exec "$VC" curl -sS --max-time 60 "http://$INET_IP/blob.bin" |
    sha256sum | awk '{print $1}' >"$TOPO_STATE/$name.sha") 2>"$TOPO_STATE/$name.err" &
  DL_PID=$!
}
endpoint_of() { srv_peer_field "$(srv_stats)" "$1" endpoint; }
# endpoint_change KEY OLD: polls the stats (up to 5 s) until KEY's endpoint is not OLD; prints it.
endpoint_change() {
  local ep="$2" _
  for _ in $(seq 20); do
    ep=$(endpoint_of "$1")
    [[ -n "$ep" && "$ep" != "$2" ]] && break
    sleep 0.25
  done
  echo "$ep"
}

# Test that a NAT rebinding in the middle of a transfer goes unnoticed (whitepaper §2.1
# roaming: the server answers the newest authenticated source).
ep0=$(endpoint_of "$VC_PUB")
download rebind
sleep 1
kill -USR1 "$(bg_pid wanem)"  # wanem: every outward socket gets a new port
ep1=$(endpoint_change "$VC_PUB" "$ep0")
check "NAT rebinding: the transfer was still running" kill -0 "$DL_PID"
wait "$DL_PID"
check "NAT rebinding mid-transfer: 2 MB blob sha256" \
  test "$(cat "$TOPO_STATE/rebind.sha")" = "$TOPO_BLOB_SHA256"
echo "    endpoint before: $ep0, after the rebinding: $ep1"
check "NAT rebinding: the server follows the new source port" \
  bash -c "[ -n '$ep0' ] && [ -n '$ep1' ] && [ '${ep0%:*}' = '$VC_WAN_IP' ] && [ '$ep0' != '$ep1' ]"

# Test that the client changing its own port mid-transfer is followed the same way.
download relisten
sleep 1
nsexec "$VC" wg set "$WG" listen-port 40001
ep2=$(endpoint_change "$VC_PUB" "$ep1")
check "client listen-port change: the transfer was still running" kill -0 "$DL_PID"
wait "$DL_PID"
check "client listen-port change mid-transfer: 2 MB blob sha256" \
  test "$(cat "$TOPO_STATE/relisten.sha")" = "$TOPO_BLOB_SHA256"
echo "    endpoint before: $ep1, after the port change: $ep2"
check "client listen-port change: the server follows" \
  bash -c "[ -n '$ep2' ] && [ '$ep2' != '$ep1' ]"

# Test that hostile input is dropped, counted and harmless while a download runs.
before=$(srv_stats)
download junk
sleep 0.5
nsexec "$VC" timeout 60 "$WGJUNK" --endpoint "$VS_WAN_IP:$SRV_PORT" \
  --server-public-key "$SRV_PUB" --private-key-file "$SRV_DIR/rogue.key" \
  --random 2000 --truncated 1000 --unknown-initiations 100 --replay-capture 10 \
  --spoof-source 10.0.2.99 --spoof-count 5 --rate 2000 --timeout 40 | tee "$TOPO_STATE/junk.out"
junk_rc=${PIPESTATUS[0]}
check "the download was still running when the junk ended" kill -0 "$DL_PID"
wait "$DL_PID"
after=$(srv_stats)
printf '%s\n' "$after" | sed 's/^/    /'
check "junk got no answers (wgjunk: result ok)" test "$junk_rc" = 0
check "download during the junk: 2 MB blob sha256" \
  test "$(cat "$TOPO_STATE/junk.sha")" = "$TOPO_BLOB_SHA256"
check "the client still works afterwards" nsexec "$VC" ping -c 2 -i 0.3 -W 3 "$INET_IP"

delta() {  # delta REASON: how much REASON's drop count grew during the junk
  echo $(($(srv_drop_count "$after" "$1") - $(srv_drop_count "$before" "$1")))
}
counted() {  # counted REASON MIN
  local d
  d=$(delta "$1")
  echo "$1: +$d"
  ((d >= $2))
}
# Random bytes: mostly an unknown type byte; with a valid header, initiation-sized ones fail
# mac1 and transport-sized ones name no index of ours. Truncated headers are too short.
check "random: unknown_type counted" counted unknown_type 100
check "random: invalid_mac1 counted" counted invalid_mac1 10
check "random: unknown_index counted" counted unknown_index 10
check "truncated: too_short counted (>= 1000)" counted too_short 1000
check "unknown keys: unknown_peer counted (>= 100)" counted unknown_peer 100
check "replays: replayed_counter counted (>= 10)" counted replayed_counter 10
check "spoofed inner source: inner_source_not_allowed counted (>= 5)" \
  counted inner_source_not_allowed 5
check "the rogue peer's handshake shows in its stats" \
  test "$(srv_peer_field "$after" "$ROGUE_PUB" handshakes)" -ge 1

srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
