#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client and our server across a cross-region WAN: slirpvpn-wanem in vs in front of the
# server's port delays every datagram 100 ms +- 10 ms each way, drops 1 % and duplicates 1 %.
#
#   $VC: slirpvpn client          $VS                                               $INET
#   TUN slc$$ 10.0.2.15/32        wanem 198.51.100.1:52820 --> server :51820        203.0.113.2
#   wan0 198.51.100.2 ==UDP==>    (100 +- 10 ms, 1 % loss,     (nobody, libslirp) ==> services
#                                  1 % dup each way)
#
# Test that:
#  - the minimum ping RTT through the tunnel (20 pings, -i 0.2) is within 3 ms of the path's own
#    minimum. The path's time is measured per ping from captures on vc's WAN and on vs's
#    loopback (between wanem and the server), matched by WireGuard counter: what wanem held
#    each datagram. (Against the configured floor of 180 ms alone the check would be luck: the
#    minimum of 20 draws of two +-10 ms jitters is ~185 ms.) The tunnel's RTT is taken on the
#    TUN (ping prints whole ms above 100 ms). Release builds only.
#  - with reordering added (1 % of datagrams overtake, and jitter then reorders too), a 2 MB
#    HTTPS download completes with a matching sha256 and DNS answers through 10.0.2.3;
#  - opacity: a marker POSTed over HTTP is seen on the TUN and never on vc's WAN, where every
#    IPv4 packet is UDP to or from wanem's port;
#  - traceroute through the tunnel reaches 203.0.113.2 in UDP mode (-N 1) and ICMP mode (-I).
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
topo_up
start_inet_services
srv_init "$BUILD"
cli_init "$BUILD"
[[ -x "$WANEM" ]] || die "no wanem binary in $BUILD/tools/wanem"
cli_resolv_conf "$VS_WAN_IP"

WANEM_PORT=52820
WAN_ARGS=(-d 100 -j 10 -L 1 -D 1)
wanem_start() {  # wanem_start [EXTRA ARGS]: (re)start the relay on $WANEM_PORT
  bg_stop wanem
  bg "$VS" wanem "$WANEM" -l "$VS_WAN_IP:$WANEM_PORT" -t "$VS_WAN_IP:$SRV_PORT" "${WAN_ARGS[@]}" "$@"
  wait_udp_listen "$VS" "$WANEM_PORT" 5
}

vpn_pair "$VS_WAN_IP:$WANEM_PORT" 25
wanem_start || die "wanem did not start"
check "handshake through the 200 ms WAN" cli_start || die "no handshake through wanem"

# --- RTT: 20 pings of 1000 bytes (1072-byte WireGuard messages), both sides captured.
CAP="$TOPO_STATE/captures"
mkdir -p "$CAP"
bg "$VC" cap-vc-wan tcpdump -i wan0 -n -U -s 96 --time-stamp-precision=nano -w "$CAP/vc-wan.pcap" udp
bg "$VS" cap-vs-lo tcpdump -i lo -n -U -s 96 --time-stamp-precision=nano -w "$CAP/vs-lo.pcap" \
  "udp port $SRV_PORT"
bg "$VC" cap-vc-tun tcpdump -i "$CLI_IFACE" -n -U -s 96 --time-stamp-precision=nano \
  -w "$CAP/vc-tun.pcap" icmp
wait_for "[ -s '$CAP/vc-wan.pcap' ] && [ -s '$CAP/vs-lo.pcap' ] && [ -s '$CAP/vc-tun.pcap' ]" 5
sleep 0.5
ip netns exec "$VC" ping -c 20 -i 0.2 -s 1000 -W 2 "$INET_IP" >"$CAP/ping.txt" 2>&1
sleep 0.5
bg_stop cap-vc-wan
bg_stop cap-vs-lo
bg_stop cap-vc-tun
tail -n 2 "$CAP/ping.txt"
"$TOPO_PYTHON" "$HERE/lib/wg_path_rtt.py" "$CAP/vc-wan.pcap" "$WANEM_PORT" "$CAP/vs-lo.pcap" \
  "$SRV_PORT" 1072 "$CAP/ping.txt" "$CAP/vc-tun.pcap" >"$CAP/rtt.txt"
rtt_summary=$(grep '^summary:' "$CAP/rtt.txt")
echo "    $rtt_summary"
matched=$(sed -n 's/.*matched=\([0-9]*\).*/\1/p' <<<"$rtt_summary")
excess=$(sed -n 's/.*excess_ms=\([-0-9.]*\).*/\1/p' <<<"$rtt_summary")
path_min=$(sed -n 's/.*path_min_ms=\([0-9.]*\).*/\1/p' <<<"$rtt_summary")
check "at least 15 of 20 pings answered and matched on both captures" test "${matched:-0}" -ge 15
check "the path's own minimum is the WAN's (>= 180 ms, < 200 ms)" \
  awk -v p="${path_min:-0}" 'BEGIN { exit !(p >= 179.9 && p < 200) }'
if ((SRV_SANITIZED == 0)); then
  check "min tunnel RTT within 3 ms of the path's minimum (excess ${excess:-?} ms)" \
    awk -v e="${excess:-99}" 'BEGIN { exit !(e <= 3) }'
else
  echo "    (sanitizer build: RTT bound not checked)"
fi

# --- Download and DNS with reordering as well.
wanem_start --reorder 1 --seed "$$" || die "wanem did not restart"
start=$(date +%s%N)
check "HTTPS 2 MB download through the WAN, sha256 matches" bash -c "ip netns exec '$VC' \
  curl -sS --max-time 90 --retry 0 --cacert '$TOPO_CA_FILE' https://inet.test/blob.bin |
  sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"
echo "    download: $(awk -v n=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", n / 1e9 }') s"
check "DNS example.test via 10.0.2.3 through the WAN" bash -c \
  "ip netns exec '$VC' dig +short +time=3 +tries=3 @10.0.2.3 example.test | grep -qx '$INET_IP'"
kill -USR2 "$(bg_pid wanem)" 2>/dev/null
wait_for "grep -q 'dir=down' '$TOPO_STATE/wanem.log'" 3
grep 'wanem: stats' "$TOPO_STATE/wanem.log" | tail -n 2 | sed 's/^/    /'
check "wanem reordered and duplicated datagrams" bash -c "grep 'wanem: stats' '$TOPO_STATE/wanem.log' |
  tail -n 2 | grep -q 'reordered=[1-9]' && grep 'wanem: stats' '$TOPO_STATE/wanem.log' |
  tail -n 2 | grep -q ' dup=[1-9]'"

# --- Opacity: a marker through the tunnel, captured on the TUN and on the WAN.
MARKER="slirpvpn-opacity-marker-$$-$RANDOM$RANDOM"
bg "$VC" cap-tun tcpdump -i "$CLI_IFACE" -n -U -s 0 -w "$CAP/tun.pcap"
bg "$VC" cap-wan tcpdump -i wan0 -n -U -s 0 -w "$CAP/wan.pcap"
wait_for "[ -s '$CAP/tun.pcap' ] && [ -s '$CAP/wan.pcap' ]" 5
sleep 0.3
ip netns exec "$VC" curl -sS --max-time 30 -o /dev/null --data "marker=$MARKER" \
  "http://$INET_IP/" || true
sleep 0.5
bg_stop cap-tun
bg_stop cap-wan
check "the marker is on the TUN in clear" grep -aq "$MARKER" "$CAP/tun.pcap"
check "the marker never appears on vc's WAN" bash -c "! grep -aq '$MARKER' '$CAP/wan.pcap'"
wan_ip=$(tcpdump -r "$CAP/wan.pcap" -n ip 2>/dev/null | wc -l)
wan_other=$(tcpdump -r "$CAP/wan.pcap" -n "ip and not (udp and port $WANEM_PORT)" 2>/dev/null | wc -l)
echo "    WAN capture: $wan_ip IPv4 packets, $wan_other not UDP to/from wanem's port"
check "every IPv4 packet on vc's WAN is UDP to or from wanem's port" \
  test "$wan_ip" -gt 0 -a "$wan_other" -eq 0

# --- traceroute through the tunnel (libslirp answers for the destination itself).
for mode in "-N 1" "-I"; do
  # shellcheck disable=SC2086  # the mode is two words or one
  ip netns exec "$VC" timeout 60 traceroute -n $mode -q 1 -w 3 -m 8 "$INET_IP" \
    >"$CAP/traceroute.txt" 2>&1
  sed 's/^/    | /' "$CAP/traceroute.txt"
  check "traceroute $mode reaches $INET_IP" \
    awk -v ip="$INET_IP" 'NR > 1 && $2 == ip { found = 1 } END { exit !found }' "$CAP/traceroute.txt"
done

cli_stop
check "client exits 0" test "$CLI_EXIT_STATUS" = 0
summary
