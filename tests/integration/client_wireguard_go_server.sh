#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client against a stock WireGuard server (wireguard-go) that NATs with the kernel.
#
#   $VC: slirpvpn client            $VS: wireguard-go wgs$$             $INET
#   TUN slc$$ 10.7.0.2/32           10.7.0.1/24, UDP 51820              203.0.113.2
#   full tunnel, DNS 203.0.113.2    ip_forward=1, masquerade out of     dnsmasq, HTTP(S),
#   wan0 198.51.100.2  <==========> inet0 (this test only)  <=========> iperf3
#
# Test that: the handshake completes; ping, DNS, HTTP and HTTPS (sha256 of a 2 MB blob) and
# iperf3 both ways go through the tunnel; SIGUSR1 prints counters; a stop restores resolv.conf.
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(dirname "$(realpath "$0")")
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/client_env.sh
. "$HERE/lib/client_env.sh"
trap 'topo_rc=$?; trap - EXIT; topo_down; wgo_cleanup; exit $topo_rc' EXIT
trap 'topo_down; wgo_cleanup; trap - EXIT; exit 130' INT
trap 'topo_down; wgo_cleanup; trap - EXIT; exit 143' TERM

topo_up
start_inet_services
cli_init "$BUILD"
cli_resolv_conf 198.51.100.1
BEFORE_RESOLV=$(ip netns exec "$VC" cat /etc/resolv.conf)

# The server side: wireguard-go with kernel forwarding and NAT (vs forwards in this test only).
CLIENT_PUB=$(cli_key client)
wgo_server_up "$CLIENT_PUB"
SERVER_PUB=$WGO_PUB

cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.7.0.2/32
DNS = $INET_IP
MTU = 1420

[Peer]
PublicKey = $SERVER_PUB
Endpoint = $VS_WAN_IP:51820
AllowedIPs = 0.0.0.0/0, ::/0
PersistentKeepalive = 25"

# Test that the handshake completes and the log says the interface is up.
check "client handshake with wireguard-go" cli_start
check "log: up" grep -q "$CLI_IFACE up" "$TOPO_STATE/client.log"
check "wg show sees the handshake" \
  sh -c "ip netns exec '$VS' wg show '$WGO_IFACE' latest-handshakes | awk '{exit !(\$2 > 0)}'"

# Test that ping, DNS, HTTP and HTTPS go through the tunnel to inet.
check "ping 203.0.113.2" nsexec "$VC" ping -c 3 -i 0.2 -W 3 "$INET_IP"
check "resolv.conf points at the tunnel DNS" \
  sh -c "ip netns exec '$VC' cat /etc/resolv.conf | grep -qx 'nameserver $INET_IP'"
check "DNS inet.test via the tunnel" \
  sh -c "ip netns exec '$VC' dig +time=3 +tries=1 +short inet.test | grep -qx '$INET_IP'"
check "HTTP blob sha256" sh -c "ip netns exec '$VC' curl -sS --max-time 30 \
  http://inet.test/blob.bin | sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"
check "HTTPS blob sha256" sh -c "ip netns exec '$VC' curl -sS --max-time 30 \
  --cacert '$TOPO_CA_FILE' https://inet.test/blob.bin | sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"

# Test that iperf3 runs 5 s each way.
check "iperf3 client -> inet" nsexec "$VC" timeout 20 iperf3 -c "$INET_IP" -t 5 -J
check "iperf3 inet -> client (-R)" nsexec "$VC" timeout 20 iperf3 -c "$INET_IP" -t 5 -R -J

# Test that SIGUSR1 prints counters, with packets both ways.
kill -USR1 "$(bg_pid client)"
wait_for "grep -q 'udp_send_refused' '$TOPO_STATE/client.log'" 5 || true
check "SIGUSR1 counters: rx and tx" sh -c "grep -q '^rx_packets [1-9]' '$TOPO_STATE/client.log' &&
  grep -q '^tx_packets [1-9]' '$TOPO_STATE/client.log'"

# Test that a stop exits 0 and restores resolv.conf byte for byte.
cli_stop
check "client exits 0 on SIGTERM" test "$CLI_EXIT_STATUS" = 0
check "resolv.conf restored" test "$(ip netns exec "$VC" cat /etc/resolv.conf)" = "$BEFORE_RESOLV"
check "TUN gone" sh -c "! ip netns exec '$VC' ip link show '$CLI_IFACE' 2>/dev/null"
summary
