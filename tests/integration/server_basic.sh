#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The slirpvpn server, unprivileged in vs, with a stock WireGuard client (wireguard-go + wg) in
# vc using it as a full tunnel: the only way from vc to inet is the server's libslirp NAT.
#
#   $VC                          $VS                                   $INET
#  +------------------------+   +----------------------------------+  +----------------------+
#  | wgc$$ (wireguard-go)   |   | slirpvpn server, uid nobody,     |  | 203.0.113.2          |
#  |  10.0.2.15/32          |   |  no capabilities, UDP 51820      |  | dnsmasq example.test |
#  |  default dev wgc$$     |   |  per peer: libslirp 10.0.2.0/24  |  | HTTP/HTTPS blob.bin  |
#  |  resolv: 10.0.2.3      |   | 127.0.0.1:8081 (loopback-only)   |  | iperf3 :5201         |
#  | HTTP 10.0.2.15:80      |   | 203.0.113.1:8082 (own service)   |  | 169.254.169.254:80   |
#  | wan0 198.51.100.2/24   |<=>| wan0 198.51.100.1 inet0 .113.1   |<=>|  (metadata stand-in) |
#  +------------------------+   +----------------------------------+  +----------------------+
#
# Test that: vc reaches nothing without the tunnel; through it, ICMP echo to inet and to the
# gateway, DNS via 10.0.2.3, HTTP and HTTPS downloads (2 MB, sha256), iperf3 TCP both ways and
# UDP; the server host's loopback, its own addresses and the metadata service are refused
# within a second although vs itself reaches them; a ForwardPort reaches the client's web server;
# SIGUSR1 prints per-peer stats and refusal counters; SIGTERM exits 0.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
WG=wgc$$

# Test that vc has no path to inet of its own (so whatever works later went through the VPN).
check "without the tunnel vc cannot reach inet" \
  bash -c "! ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'"

VC_PUB=$(srv_key vc)
srv_write_conf "[Peer]
Name = vc
PublicKey = $VC_PUB
ForwardPort = tcp:8080:80"

# Services of the server host that clients must not reach: loopback-only, and one on its own
# uplink address. First show that vs itself reaches them and the metadata stand-in.
mkdir -p "$TOPO_STATE/vsweb" "$TOPO_STATE/vcweb"
echo "vs loopback secret" >"$TOPO_STATE/vsweb/index.html"
echo "vc forwarded ok" >"$TOPO_STATE/vcweb/index.html"
bg "$VS" vs-loopback "$TOPO_PYTHON" -m http.server 8081 --bind 127.0.0.1 \
  --directory "$TOPO_STATE/vsweb"
bg "$VS" vs-own "$TOPO_PYTHON" -m http.server 8082 --bind "$VS_UP_IP" \
  --directory "$TOPO_STATE/vsweb"
wait_tcp_listen "$VS" 127.0.0.1 8081 || die "vs loopback service did not start"
wait_tcp_listen "$VS" "$VS_UP_IP" 8082 || die "vs own service did not start"
check "vs itself reaches the metadata service" \
  bash -c "ip netns exec '$VS' curl -sf --max-time 5 http://$METADATA_IP/latest/meta-data/instance-id | grep -q i-slirpvpn"
check "vs itself reaches its 127.0.0.1:8081" \
  bash -c "ip netns exec '$VS' curl -sf --max-time 5 http://127.0.0.1:8081/ | grep -q secret"

srv_start --log-level info || die "the server did not start (log above)"
SRV_PID=$(srv_pid)
check "server runs as nobody without capabilities" \
  bash -c "[ \"\$(ps -o user= -p $SRV_PID)\" = nobody ] && grep -q '^CapEff:[[:space:]]*0*$' /proc/$SRV_PID/status"

wgc_up "$VC" "$WG" vc || die "wireguard-go did not come up"

# Test that ICMP echo crosses the tunnel to inet and to the slirp gateway.
check "ping inet 203.0.113.2 through the tunnel" nsexec "$VC" ping -c 3 -i 0.3 -W 5 "$INET_IP"
check "ping gateway 10.0.2.2" nsexec "$VC" ping -c 3 -i 0.3 -W 3 10.0.2.2
handshake=$(ip netns exec "$VC" wg show "$WG" latest-handshakes | awk '{print $2}')
check "wg show reports a handshake with the server" test "${handshake:-0}" -gt 0

# Test that DNS goes through 10.0.2.3 to the server host's resolver (inet's dnsmasq).
check "dig @10.0.2.3 example.test" \
  bash -c "ip netns exec '$VC' dig +short +time=3 +tries=2 @10.0.2.3 example.test | grep -qx '$INET_IP'"
check "vc's resolver (10.0.2.3) resolves inet.test" \
  bash -c "ip netns exec '$VC' getent hosts inet.test | grep -q '$INET_IP'"
check "inet's dnsmasq saw the queries from vs's uplink" \
  grep -q "query.*example.test from $VS_UP_IP" "$TOPO_STATE/inet-dns.log"

# Test that HTTP and HTTPS downloads arrive intact.
fetch_sha() {
  ip netns exec "$VC" curl -sS --max-time 60 "$@" | sha256sum | awk '{print $1}'
}
check "HTTP index via example.test" \
  bash -c "ip netns exec '$VC' curl -sS --max-time 10 http://example.test/ | grep -q 'inet ok'"
http_sha=$(fetch_sha "http://$INET_IP/blob.bin")
check "HTTP 2 MB blob sha256" test "$http_sha" = "$TOPO_BLOB_SHA256"
https_sha=$(fetch_sha --cacert "$TOPO_CA_FILE" "https://inet.test/blob.bin")
check "HTTPS 2 MB blob sha256 (inet.test, --cacert)" test "$https_sha" = "$TOPO_BLOB_SHA256"

# Test that iperf3 TCP both ways and UDP complete.
iperf() {
  local name="$1"
  shift
  timeout 40 ip netns exec "$VC" iperf3 -c "$INET_IP" --connect-timeout 5000 "$@" \
    >"$TOPO_STATE/$name.out" 2>&1
  local rc=$?
  grep -E 'receiver|sender|%\)' "$TOPO_STATE/$name.out" | tail -n 2 | sed "s/^/    $name: /"
  return $rc
}
check "iperf3 TCP upload 5 s" iperf iperf-up -t 5
check "iperf3 TCP download 5 s (-R)" iperf iperf-down -t 5 -R
check "iperf3 UDP 50 Mbit/s 3 s" iperf iperf-udp -u -b 50M -t 3

# Test that the server host's loopback, own addresses and the metadata service are refused, fast.
# refused_fast URL: curl fails with "could not connect" (exit 7: a RST or ICMP prohibited, not
# a timeout) in under 1 s; on a sanitizer build only the kind of failure is checked.
LIMIT_MS=1000
[[ "$SRV_SANITIZED" == 1 ]] && LIMIT_MS=5000
refused_fast() {
  local result rc ms
  result=$(elapsed_ms ip netns exec "$VC" curl -s --connect-timeout 5 --max-time 6 "$1")
  read -r rc ms <<<"$result"
  echo "curl $1: exit $rc after ${ms} ms"
  [[ "$rc" == 7 && "$ms" -lt "$LIMIT_MS" ]]
}
check "metadata 169.254.169.254 refused in < $LIMIT_MS ms" \
  refused_fast "http://$METADATA_IP/latest/meta-data/iam/security-credentials/role"
check "server loopback via gateway 10.0.2.2:8081 refused in < $LIMIT_MS ms" \
  refused_fast "http://10.0.2.2:8081/"
check "server's own address 203.0.113.1:8082 refused in < $LIMIT_MS ms" \
  refused_fast "http://$VS_UP_IP:8082/"
check "ICMP echo to 169.254.169.254 not answered" \
  bash -c "! ip netns exec '$VC' ping -c 1 -W 2 '$METADATA_IP'"
check "the tunnel still works after the refusals" nsexec "$VC" ping -c 1 -W 3 "$INET_IP"

# Test that ForwardPort tcp:8080:80 reaches the client's web server on 10.0.2.15:80.
bg "$VC" vc-web "$TOPO_PYTHON" -m http.server 80 --bind 10.0.2.15 --directory "$TOPO_STATE/vcweb"
wait_tcp_listen "$VC" 10.0.2.15 80 || die "vc web server did not start"
wait_for "ip netns exec '$VS' ss -Htln 'sport = :8080' | grep -q ." 5
check "forward: vs 127.0.0.1:8080 -> vc 10.0.2.15:80" \
  bash -c "ip netns exec '$VS' curl -sS --max-time 10 http://127.0.0.1:8080/ | grep -q 'vc forwarded ok'"
# From an internet host too: the client sees inet's address and answers through its tunnel.
# (Not from 198.51.100.1: vc reaches that address on its own WAN link, so its answer would
# bypass the tunnel, as it would with wg-quick, which keeps LAN routes.)
check "forward: inet -> 203.0.113.1:8080 -> vc 10.0.2.15:80" \
  bash -c "ip netns exec '$INET' curl -sS --max-time 10 http://$VS_UP_IP:8080/ | grep -q 'vc forwarded ok'"

# Test that SIGUSR1 prints this peer's stats and the refusals.
stats=$(srv_stats)
printf '%s\n' "$stats" | sed 's/^/    /'
rx=$(srv_peer_field "$stats" "$VC_PUB" rx_bytes)
tx=$(srv_peer_field "$stats" "$VC_PUB" tx_bytes)
hs=$(srv_peer_field "$stats" "$VC_PUB" handshakes)
endpoint=$(srv_peer_field "$stats" "$VC_PUB" endpoint)
check "stats: rx_bytes > 1 MB (uploads)" test "${rx:-0}" -gt 1000000
check "stats: tx_bytes > 4 MB (two blobs down)" test "${tx:-0}" -gt 4000000
check "stats: handshakes >= 1" test "${hs:-0}" -ge 1
check "stats: endpoint is vc's WAN address" test "${endpoint%:*}" = "$VC_WAN_IP"
check "stats: refusals counted (slirp_*)" \
  bash -c "printf '%s\n' \"\$1\" | grep 'drops:' | grep -qE 'slirp_[a-z0-9_]+=[1-9]'" _ "$stats"

# Test that SIGTERM ends the server with status 0 and final stats.
drops_before=$(grep -c 'drops:' "$TOPO_STATE/server.log")
srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
check "stats printed at exit" test "$(grep -c 'drops:' "$TOPO_STATE/server.log")" -gt "$drops_before"

summary
