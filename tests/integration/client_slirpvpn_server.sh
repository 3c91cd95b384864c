#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client against our server: the whole slirpvpn path, root only on the client side.
#
#   $VC: slirpvpn client              $VS: slirpvpn server (as nobody,       $INET
#   TUN slc$$ 10.0.2.15/32            no capabilities): libslirp NAT         203.0.113.2
#   full tunnel, DNS 10.0.2.3         10.0.2.2 gw, 10.0.2.3 DNS              dnsmasq, HTTP(S),
#   wan0 198.51.100.2 <=============> wan0 198.51.100.1:51820 <============> iperf3
#                                     (no forwarding, no default route)
#
# Test that: ping, DNS through slirp's 10.0.2.3, HTTP and HTTPS (sha256 of a 2 MB blob) and
# iperf3 both ways work; after a server restart traffic resumes by itself within 20 s.
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(dirname "$(realpath "$0")")
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/client_env.sh
. "$HERE/lib/client_env.sh"
topo_trap

topo_up
start_inet_services
cli_init "$BUILD"
"$SLIRPVPN" server --help >/dev/null 2>&1 || die "$SLIRPVPN has no 'server' subcommand"
cli_resolv_conf 198.51.100.1

# The server's files, readable by nobody only.
SRV_DIR="$TOPO_STATE/server"
mkdir -p "$SRV_DIR"
chmod o+x "$TOPO_STATE"
(umask 077 && "$SLIRPVPN" genkey >"$SRV_DIR/server.key")
SERVER_PUB=$("$SLIRPVPN" pubkey <"$SRV_DIR/server.key")
CLIENT_PUB=$(cli_key client)
printf '[Interface]\nPrivateKeyFile = server.key\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\n' \
  "$CLIENT_PUB" >"$SRV_DIR/server.conf"
chmod 600 "$SRV_DIR/server.conf"
chown -R nobody:nogroup "$SRV_DIR"
chmod 700 "$SRV_DIR"

server_start() {
  bg "$VS" server setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    --no-new-privs "$SLIRPVPN" server -c "$SRV_DIR/server.conf"
  wait_udp_listen "$VS" 51820 10
}

cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.0.2.15/32
DNS = 10.0.2.3

[Peer]
PublicKey = $SERVER_PUB
Endpoint = $VS_WAN_IP:51820
AllowedIPs = 0.0.0.0/0
PersistentKeepalive = 25"

# Test that the client reaches our unprivileged server and completes a handshake.
check "server starts as nobody" server_start
check "client handshake with slirpvpn server" cli_start
# dump peer line: public-key preshared endpoint allowed-ips latest-handshake rx tx keepalive
cli_peer() { wg show "$CLI_IFACE" dump | awk -v k="$SERVER_PUB" '$1 == k'; }
handshake=$(cli_peer | awk '{print $5}')
check "wg show on the client: handshake within the last 10 s" \
  test $(($(date +%s) - ${handshake:-0})) -le 10

# Test that ping, DNS, HTTP, HTTPS and iperf3 go through client, server and libslirp.
check "ping 203.0.113.2" nsexec "$VC" ping -c 3 -i 0.2 -W 3 "$INET_IP"
check "DNS inet.test via 10.0.2.3" \
  sh -c "ip netns exec '$VC' dig +time=3 +tries=2 +short inet.test | grep -qx '$INET_IP'"
check "HTTP blob sha256" sh -c "ip netns exec '$VC' curl -sS --max-time 60 \
  http://inet.test/blob.bin | sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"
check "HTTPS blob sha256" sh -c "ip netns exec '$VC' curl -sS --max-time 60 \
  --cacert '$TOPO_CA_FILE' https://inet.test/blob.bin | sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"
check "iperf3 client -> inet" nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 5 -J
check "iperf3 inet -> client (-R)" nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 5 -R -J
# Test that the stock wg tool reads the client's state through its control socket.
check "wg show on the client: the peer and a handshake" \
  bash -c "wg show '$CLI_IFACE' latest-handshakes | awk -v k='$SERVER_PUB' '\$1 == k && \$2 > 0' | grep -q ."
check "wg show on the client: the endpoint is the server's" \
  bash -c "wg show '$CLI_IFACE' dump | awk -v k='$SERVER_PUB' '\$1 == k {print \$3}' | grep -qx '$VS_WAN_IP:51820'"
rx1=$(cli_peer | awk '{print $6}')
tx1=$(cli_peer | awk '{print $7}')
nsexec "$VC" curl -sS --max-time 20 -o /dev/null http://inet.test/blob.bin
check "wg show on the client: received bytes grow with a download" \
  test "$(cli_peer | awk '{print $6}')" -gt "$((${rx1:-0} + 2000000))"
check "wg show on the client: sent bytes grow" test "$(cli_peer | awk '{print $7}')" -gt "${tx1:-0}"

# Test that after a server restart the client finds its way back by itself (its
# new-handshake timer: data sent and nothing heard for 15 s) within 20 s.
bg_stop server
server_start || die "server did not restart"
restarted=$(date +%s)
check "traffic resumes within 20 s of a server restart" \
  wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 20
echo "    resumed after $(($(date +%s) - restarted)) s"
check "HTTP after the restart" nsexec "$VC" curl -sS --max-time 10 -o /dev/null http://inet.test/

cli_stop
check "client exits 0" test "$CLI_EXIT_STATUS" = 0
summary
