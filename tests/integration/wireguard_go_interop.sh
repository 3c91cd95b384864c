#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop of our WireGuard protocol core (slirpvpn-wgprobe, no TUN) with wireguard-go.
#
#   netns wgA$$ (wireguard-go)                     netns wgB$$ (slirpvpn-wgprobe)
#   wgi$$: 10.9.0.1/24 on TUN                      UDP socket, tunnel addresses
#   veth 198.51.100.1/24, UDP 51820  <-------->    veth 198.51.100.2/24
#
# Test that: the handshake completes with us initiating and with wireguard-go initiating;
# `wg show` on its side reports it; ICMP echo goes through in both directions; a replayed
# transport packet is dropped by both sides.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
PROBE=$(realpath "$BUILD/tools/wgprobe/slirpvpn-wgprobe")
SLIRPVPN=$(realpath "$BUILD/slirpvpn")
A=wgA$$
B=wgB$$
IFACE=wgi$$
STATE=$(mktemp -d /tmp/slirpvpn-interop.XXXXXX)
passed=0
failed=0
pids=()

pretty() { echo -e "\x1b[32m\x1b[1m[+] ${1:+NS$1: }\x1b[0m${*:2}" >&2; }
nA() { pretty A "$*"; ip netns exec "$A" "$@"; }
nB() { pretty B "$*"; ip netns exec "$B" "$@"; }
check() {
  local name=$1
  shift
  if "$@"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
  fi
}
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  ip netns del "$A" 2>/dev/null
  ip netns del "$B" 2>/dev/null
  rm -f "/var/run/wireguard/$IFACE.sock"
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A"
ip netns add "$B"
ip link add vethA$$ netns "$A" type veth peer name vethB$$ netns "$B"
nA ip addr add 198.51.100.1/24 dev vethA$$
nB ip addr add 198.51.100.2/24 dev vethB$$
nA ip link set lo up
nB ip link set lo up
nA ip link set vethA$$ up
nB ip link set vethB$$ up

"$SLIRPVPN" genkey > "$STATE/go.key"
"$SLIRPVPN" genkey > "$STATE/probe1.key"
"$SLIRPVPN" genkey > "$STATE/probe2.key"
GO_PUB=$("$SLIRPVPN" pubkey < "$STATE/go.key")
PROBE1_PUB=$("$SLIRPVPN" pubkey < "$STATE/probe1.key")
PROBE2_PUB=$("$SLIRPVPN" pubkey < "$STATE/probe2.key")

# Test that our genkey/pubkey agree with wg's.
check "pubkey matches wg pubkey" test -n "$GO_PUB" -a "$(wg pubkey < "$STATE/go.key")" = "$GO_PUB"

mkdir -p /var/run/wireguard
WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 ip netns exec "$A" wireguard-go -f "$IFACE" \
  > "$STATE/wireguard-go.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "/var/run/wireguard/$IFACE.sock" ] && break; sleep 0.1; done
nA wg set "$IFACE" private-key "$STATE/go.key" listen-port 51820 \
  peer "$PROBE1_PUB" allowed-ips 10.9.0.2/32 \
  peer "$PROBE2_PUB" allowed-ips 10.9.0.3/32 endpoint 198.51.100.2:51821
nA ip addr add 10.9.0.1/24 dev "$IFACE"
nA ip link set "$IFACE" up

# Test that we initiate, ping through wireguard-go, and replays are dropped both ways.
nB timeout 30 "$PROBE" --private-key-file "$STATE/probe1.key" --peer-public-key "$GO_PUB" \
  --endpoint 198.51.100.1:51820 --tunnel-address 10.9.0.2 --ping 10.9.0.1 --count 5 \
  --replay-check | tee "$STATE/probe1.out"
check "we initiate: handshake" grep -q "handshake: .*initiated_by=us" "$STATE/probe1.out"
check "we initiate: 5 echo replies" grep -q "ping: received=5" "$STATE/probe1.out"
check "replay to us dropped" grep -q "replay_to_us: replayed_counter" "$STATE/probe1.out"
check "replay to wireguard-go dropped" grep -q "replay_to_peer: dropped" "$STATE/probe1.out"
handshake_time=$(ip netns exec "$A" wg show "$IFACE" latest-handshakes | awk -v k="$PROBE1_PUB" '$1==k {print $2}')
check "wg show reports the handshake" test "${handshake_time:-0}" -gt 0

# Test that wireguard-go initiates to us and its ping is answered through our core.
ip netns exec "$B" timeout 30 "$PROBE" --private-key-file "$STATE/probe2.key" \
  --peer-public-key "$GO_PUB" --listen-port 51821 --tunnel-address 10.9.0.3 --respond \
  --count 3 > "$STATE/probe2.out" 2>&1 &
probe2=$!
pids+=($probe2)
for _ in $(seq 50); do
  ip netns exec "$B" ss -Hunl "sport = :51821" | grep -q . && break
  sleep 0.1
done
nA ping -c 3 -i 0.3 -W 3 10.9.0.3 | tee "$STATE/ping2.out"
wait "$probe2"
cat "$STATE/probe2.out"
check "wireguard-go initiates: handshake" grep -q "handshake: .*initiated_by=peer" "$STATE/probe2.out"
check "wireguard-go's ping answered" grep -q "3 received" "$STATE/ping2.out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
