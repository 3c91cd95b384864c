#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three stock WireGuard clients (wireguard-go) on one slirpvpn server at the same time, all with
# the tunnel address 10.0.2.15: every peer has its own libslirp network.
#
#   $VC  wan0 198.51.100.2/24   <=> $VS wan0 198.51.100.1/24
#   $VC2 wan0 198.51.100.130/30 <=> $VS wan2 198.51.100.129/30   (more specific than the /24)
#   $VC3 wan0 198.51.100.134/30 <=> $VS wan3 198.51.100.133/30
#   each: wireguard-go 10.0.2.15/32, default route through it, resolver 10.0.2.3,
#         a web server on 10.0.2.15:80 saying "client N", ForwardPort tcp:808N:80 on the server
#   $VS  slirpvpn server as nobody, UDP 51820      <=> $INET 203.0.113.2 (HTTP, DNS, iperf3)
#
# Test that: all three handshake, ping inet and the gateway, resolve names and download the 2 MB
# blob intact at the same time; each ForwardPort reaches its own client although all are
# 10.0.2.15; no client reaches another's service through the tunnel (via the gateway to the
# server's forwarded ports, or via the server's own address); one client's traffic never shows
# up at the others (their tunnel interfaces and the server's per-peer counters stay quiet).
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"

VC2="vc2-$TOPO_ID"
VC3="vc3-$TOPO_ID"
NS=("$VC" "$VC2" "$VC3")
ENDPOINTS=("$VS_WAN_IP:$SRV_PORT" "198.51.100.129:$SRV_PORT" "198.51.100.133:$SRV_PORT")
IFACES=("wgc$$" "wgd$$" "wge$$")
WANS=("$VC_WAN_IP" 198.51.100.130 198.51.100.134)

# Two more client hosts on their own /30s of TEST-NET-2, cut from vs's /24 by longer prefixes.
_topo_add_ns "$VC2"
_topo_add_ns "$VC3"
_topo_veth "$VC2" wan0 "$VS" wan2
_topo_veth "$VC3" wan0 "$VS" wan3
_topo_addr "$VS" wan2 198.51.100.129/30
_topo_addr "$VC2" wan0 198.51.100.130/30
_topo_addr "$VS" wan3 198.51.100.133/30
_topo_addr "$VC3" wan0 198.51.100.134/30

conf=""
PUBS=()
for i in 1 2 3; do
  PUBS[i]=$(srv_key "client$i")
  conf+="[Peer]
Name = client$i
PublicKey = ${PUBS[i]}
ForwardPort = tcp:808$i:80

"
done
srv_write_conf "$conf"
srv_start --log-level info || die "the server did not start (log above)"

for i in 1 2 3; do
  ns=${NS[i - 1]}
  wgc_up "$ns" "${IFACES[i - 1]}" "client$i" "" "${ENDPOINTS[i - 1]}" ||
    die "wireguard-go $i did not come up"
  mkdir -p "$TOPO_STATE/web$i"
  echo "client $i" >"$TOPO_STATE/web$i/index.html"
  bg "$ns" "web$i" "$TOPO_PYTHON" -m http.server 80 --bind 10.0.2.15 \
    --directory "$TOPO_STATE/web$i"
done
for i in 1 2 3; do
  wait_tcp_listen "${NS[i - 1]}" 10.0.2.15 80 || die "web server $i did not start"
done

# Test that every client works, the three at the same time.
jobs_pids=()
for i in 1 2 3; do
  ns=${NS[i - 1]}
  ip netns exec "$ns" ping -c 3 -i 0.3 -W 5 "$INET_IP" >"$TOPO_STATE/ping-inet$i.out" 2>&1 &
  jobs_pids+=($!)
  ip netns exec "$ns" ping -c 3 -i 0.3 -W 5 10.0.2.2 >"$TOPO_STATE/ping-gw$i.out" 2>&1 &
  jobs_pids+=($!)
  ip netns exec "$ns" curl -sS --max-time 60 "http://example.test/blob.bin" \
    -o "$TOPO_STATE/blob$i.bin" >"$TOPO_STATE/curl$i.out" 2>&1 &
  jobs_pids+=($!)
done
wait "${jobs_pids[@]}"
for i in 1 2 3; do
  check "client $i: ping inet" grep -q ' 0% packet loss' "$TOPO_STATE/ping-inet$i.out"
  check "client $i: ping gateway 10.0.2.2" grep -q ' 0% packet loss' "$TOPO_STATE/ping-gw$i.out"
  sha=$(sha256sum "$TOPO_STATE/blob$i.bin" 2>/dev/null | awk '{print $1}')
  check "client $i: 2 MB blob via example.test, sha256 (concurrent)" \
    test "$sha" = "$TOPO_BLOB_SHA256"
done
stats=$(srv_stats)
printf '%s\n' "$stats" | sed 's/^/    /'
for i in 1 2 3; do
  check "client $i: server stats show its handshake" \
    test "$(srv_peer_field "$stats" "${PUBS[i]}" handshakes)" -ge 1
  check "client $i: server stats endpoint is its own WAN address" \
    test "$(srv_peer_field "$stats" "${PUBS[i]}" endpoint | cut -d: -f1)" = "${WANS[i - 1]}"
done

# Test that each forward reaches its own client although all three are 10.0.2.15.
for i in 1 2 3; do
  wait_for "ip netns exec '$VS' ss -Htln 'sport = :808$i' | grep -q ." 5
  check "forward 808$i reaches client $i only" \
    bash -c "ip netns exec '$VS' curl -sS --max-time 10 http://127.0.0.1:808$i/ | grep -qx 'client $i'"
done

# Test that no client reaches another through the tunnel.
cross() {  # cross NS URL: the request must fail
  local out
  out=$(ip netns exec "$1" curl -sS --connect-timeout 5 --max-time 6 "$2" 2>&1)
  local rc=$?
  echo "curl $2 from $1: exit $rc: $out" >&2
  ((rc != 0)) && ! grep -q 'client' <<<"$out"
}
check "client 1 -> 10.0.2.2:8082 (client 2's forward via the gateway) fails" \
  cross "$VC" "http://10.0.2.2:8082/"
check "client 1 -> 203.0.113.1:8083 (client 3's forward via the server's address) fails" \
  cross "$VC" "http://$VS_UP_IP:8083/"
check "client 3 -> 10.0.2.2:8081 (client 1's forward via the gateway) fails" \
  cross "$VC3" "http://10.0.2.2:8081/"
check "client 2 -> 203.0.113.1:8081 (client 1's forward via the server's address) fails" \
  cross "$VC2" "http://$VS_UP_IP:8081/"

# Test that one client's traffic never reaches the others: 200 echoes from client 1 to the
# gateway while clients 2 and 3 capture on their tunnel interfaces.
before=$(srv_stats)
for i in 1 2 3; do
  bg "${NS[i - 1]}" "dump$i" tcpdump -i "${IFACES[i - 1]}" -nn -l icmp
done
for i in 1 2 3; do wait_for grep -q listening "$TOPO_STATE/dump$i.log" 5; done
nsexec "$VC" ping -c 200 -i 0.01 -W 3 -q 10.0.2.2 >"$TOPO_STATE/flood1.out" 2>&1
sleep 1
bg_stop dump1
bg_stop dump2
bg_stop dump3
after=$(srv_stats)
check "client 1: 200 echoes answered" grep -q '200 received' "$TOPO_STATE/flood1.out"
# The capture itself works: client 1's own interface shows its 200 requests and 200 replies.
packets=$(grep -c 'ICMP' "$TOPO_STATE/dump1.log")
check "client 1's capture saw its echoes ($packets ICMP)" test "$packets" -ge 400
for i in 2 3; do
  packets=$(grep -c 'ICMP' "$TOPO_STATE/dump$i.log")
  check "client $i saw none of client 1's packets ($packets ICMP)" test "$packets" -eq 0
  delta=$(($(srv_peer_field "$after" "${PUBS[i]}" tx_bytes) - $(srv_peer_field "$before" "${PUBS[i]}" tx_bytes)))
  check "server sent client $i nothing meanwhile (tx +$delta bytes, keepalives only)" \
    test "$delta" -lt 200
done
delta1=$(($(srv_peer_field "$after" "${PUBS[1]}" tx_bytes) - $(srv_peer_field "$before" "${PUBS[1]}" tx_bytes)))
check "server sent client 1 its replies (tx +$delta1 bytes)" test "$delta1" -gt 20000

srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
