#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# topology_selftest.sh: checks the test harness itself (lib/topology.sh): the plain topology
# and its inet services, the NAT topology and its firewall, and that teardown leaves nothing.
#
#   vc 198.51.100.2 === vs 198.51.100.1 | 203.0.113.1 === inet 203.0.113.2 (+169.254.169.254)
#   vc 198.51.100.66 === nat (.65 | .2, masquerade random) === vs 198.51.100.1 ...
#
# Run as root: tests/integration/topology_selftest.sh   (prints "N passed, M failed")
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
topo_trap

# A UDP server that answers each datagram with the sender's address:port, so the test can see
# what the NAT did. Bounded: exits after 60 s.
WHOAMI_PY='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
end = time.time() + 60
while time.time() < end:
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    s.sendto(("%s:%d" % peer).encode(), peer)
'

# udp_ask NS ADDR PORT: one datagram, prints the reply (empty after 1 s without one).
udp_ask() {
  ip netns exec "$1" "$TOPO_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"who am i", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(2048)[0].decode())
except socket.timeout:
    pass
' "$2" "$3"
}

# ------------------------------------------------------------------ plain topology
topo_up
start_inet_services
started_pids=""
for name in inet-dns inet-http inet-https inet-iperf3 inet-metadata; do
  started_pids+=" $(bg_pid "$name")"
done

# Test that vs reaches the internet side directly.
check "vs pings inet" nsexec "$VS" ping -c 1 -W 2 "$INET_IP"
check "vs fetches http://inet/ ('inet ok')" \
  bash -c "[[ \"\$(ip netns exec '$VS' curl -sS --max-time 5 http://$INET_IP/)\" == 'inet ok' ]]"
check "vs fetches blob.bin intact over HTTPS (--cacert, name inet.test)" \
  bash -c "ip netns exec '$VS' curl -sS --max-time 10 --cacert '$TOPO_CA_FILE' \
    https://inet.test/blob.bin | sha256sum | grep -q '^$TOPO_BLOB_SHA256 '"
check "HTTPS fails without the CA file" \
  bash -c "! ip netns exec '$VS' curl -sS --max-time 5 https://inet.test/ >/dev/null 2>&1"
check "dig @203.0.113.2 example.test answers 203.0.113.2" \
  bash -c "[[ \"\$(ip netns exec '$VS' dig +short +time=2 +tries=1 @$INET_IP example.test A)\" == '$INET_IP' ]]"
check "vs resolves example.test through its own resolv.conf" \
  bash -c "ip netns exec '$VS' getent hosts example.test | grep -q '^$INET_IP '"
check "dnsmasq answers nothing else (NXDOMAIN for a real name)" \
  bash -c "ip netns exec '$VS' dig +time=2 +tries=1 @$INET_IP debian.org A | grep -q 'status: NXDOMAIN\\|status: REFUSED'"
check "iperf3 vs -> inet for 1 s" nsexec "$VS" iperf3 -c "$INET_IP" -t 1 -i 0
check "vs reaches the metadata stand-in 169.254.169.254" \
  bash -c "ip netns exec '$VS' curl -sS --max-time 5 \
    http://$METADATA_IP/latest/meta-data/iam/security-credentials/role | grep -q TOPO-METADATA-SECRET"

# Test that vc has no path to the internet side and nothing leaves the namespaces.
check "vc reaches vs over the WAN" nsexec "$VC" ping -c 1 -W 2 "$VS_WAN_IP"
check "vc cannot ping inet" bash -c "! ip netns exec '$VC' ping -c 1 -W 1 $INET_IP"
check "vc cannot fetch from inet" \
  bash -c "! ip netns exec '$VC' curl -sS --max-time 2 http://$INET_IP/"
check "vc cannot reach the metadata service" \
  bash -c "! ip netns exec '$VC' curl -sS --max-time 2 http://$METADATA_IP/"
check "vs has no default route" bash -c "! ip -n '$VS' route show default | grep -q ."
check "vs does not forward" bash -c "[[ \$(ip netns exec '$VS' sysctl -n net.ipv4.ip_forward) == 0 ]]"
check "no IPv6 on the veths" bash -c "! ip -n '$VS' -6 addr show dev wan0 | grep -q inet6"

# Test that wait_for times out, and that bg/bg_stop stop what they started.
check "wait_for gives up after its timeout" bash -c ". '$HERE/lib/topology.sh'; ! TOPO_QUIET=1 wait_for false 0.3"
bg "$VS" sleeper sleep 300
sleeper_pid="$(bg_pid sleeper)"
check "bg started a process in vs" bash -c "ip netns pids '$VS' | grep -qx '$sleeper_pid'"
bg_stop sleeper
check "bg_stop stopped it" bash -c "! kill -0 $sleeper_pid 2>/dev/null"

# Test that teardown leaves no namespaces, processes or files.
state="$TOPO_STATE"
topo_down
check "no namespaces left" bash -c "! ip netns list | grep -q -- '-$TOPO_ID\\b'"
check "no inet services left" bash -c "for p in $started_pids; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
# The bracket keeps pgrep from matching the bash -c that runs it.
check "no process refers to the state dir" bash -c "! pgrep -f '[s]lirpvpn-topo.$TOPO_ID/'"
check "state dir and /etc/netns entry removed" bash -c "[[ ! -e '$state' && ! -e /etc/netns/$VS ]]"

# ------------------------------------------------------------------ NAT topology
topo_up_nat ""  # no firewall yet: nat_firewall below
bg "$VS" whoami "$TOPO_PYTHON" -c "$WHOAMI_PY" "$VS_WAN_IP" 51820
bg "$VS" whoami2 "$TOPO_PYTHON" -c "$WHOAMI_PY" "$VS_WAN_IP" 51821
wait_udp_listen "$VS" 51820 || die "whoami did not start"
wait_udp_listen "$VS" 51821 || die "whoami2 did not start"

# Test that the NAT hides vc behind its public address, with random source ports.
seen="$(udp_ask "$VC" "$VS_WAN_IP" 51820)"
check "vs sees vc as the NAT's public address ($seen)" \
  bash -c "[[ '$seen' == $NAT_PUBLIC_IP:* ]]"
ports=""
for _ in 1 2 3 4; do ports+=" $(udp_ask "$VC" "$VS_WAN_IP" 51820 | cut -d: -f2)"; done
check "masquerade picks random ports (got$ports)" \
  bash -c "[[ \$(tr ' ' '\n' <<<'$ports' | grep -c .) == 4 && \$(tr ' ' '\n' <<<'$ports' | sort -u | grep -c .) -ge 3 ]]"
check "conntrack UDP timeouts are 5 s in the NAT" \
  bash -c "[[ \$(ip netns exec '$NAT' sysctl -n net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream | sort -u) == 5 ]]"
check "vc still cannot reach inet" bash -c "! ip netns exec '$VC' ping -c 1 -W 1 $INET_IP"

# Test that the WAN emulator (tools/wanem) relays through the topology with its delay: vc ->
# NAT -> wanem on vs:52820 (20 ms each way) -> whoami on vs:51820. Needs a built binary:
# $SLIRPVPN_WANEM, or the newest build/*/tools/wanem/slirpvpn-wanem.
# shellcheck disable=SC2012  # build paths are ours, plain names
wanem_bin="${SLIRPVPN_WANEM:-$(ls -t "$HERE"/../../build/*/tools/wanem/slirpvpn-wanem 2>/dev/null | head -n 1)}"
if [[ -x "$wanem_bin" ]]; then
  bg "$VS" wanem "$wanem_bin" -l "$VS_WAN_IP:52820" -t "$VS_WAN_IP:51820" --delay 20 \
    --queue-mb 4 --lifetime 60
  wait_udp_listen "$VS" 52820 || die "wanem did not start"
  timed="$(ip netns exec "$VC" "$TOPO_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
t = time.monotonic()
s.sendto(b"via wanem", (sys.argv[1], 52820))
reply = s.recvfrom(2048)[0].decode()
print(reply, int((time.monotonic() - t) * 1000))
' "$VS_WAN_IP" 2>&1)"
  check "wanem relays vc -> vs with 40 ms RTT (reply, ms: $timed)" \
    bash -c "read -r who ms <<<'$timed'; [[ \$who == $VS_WAN_IP:* ]] && ((ms >= 40 && ms < 200))"
  bg_stop wanem
else
  printf 'note: no slirpvpn-wanem binary built; wanem check left out\n' >&2
fi

# Test that the firewall lets only the VPN server's UDP port through.
nat_firewall 51820
allowed="$(udp_ask "$VC" "$VS_WAN_IP" 51820)"
blocked="$(udp_ask "$VC" "$VS_WAN_IP" 51821)"
check "firewall passes UDP 51820 ($allowed)" test -n "$allowed"
check "firewall blocks UDP 51821" test -z "$blocked"
check "firewall blocks ping to vs" bash -c "! ip netns exec '$VC' ping -c 1 -W 1 $VS_WAN_IP"

topo_down
check "NAT teardown leaves no namespaces" bash -c "! ip netns list | grep -q -- '-$TOPO_ID\b'"
summary
