#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, on a fresh Debian 12 machine as root: installs what it needs, builds a release
# binary, and in network namespaces shows our client through our unprivileged server (handshake,
# ping, DNS via 10.0.2.3, a 2 MB HTTPS download, iperf3 both ways), then slirpvpn's WireGuard
# core against a stock wireguard-go (handshake both ways, encrypted ping, replay protection),
# each check with its result and figure. About a minute after the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (it creates network namespaces); run: sudo $0" >&2
  exit 1
fi
echo "== installing dependencies"
bash scripts/install-deps.sh
echo "== building (release)"
cmake --preset release > /dev/null
cmake --build --preset release -j 2 | tail -n 1

echo
echo "slirpvpn demo: our client in vc, our server as nobody in vs, libslirp NAT to inet"
echo "---------------------------------------------------------------------------------"
status=0
tlog=$(mktemp /tmp/slirpvpn-demo-tunnel.XXXXXX)
bash scripts/demo-tunnel.sh "$ROOT/build/release" 2>"$tlog" || {
  status=$?
  tail -n 20 "$tlog" | sed 's/^/    | /'
}
rm -f "$tlog"

echo
log=$(mktemp /tmp/slirpvpn-demo.XXXXXX)
trap 'rm -f "$log"' EXIT
bash tests/integration/wireguard_go_interop.sh "$ROOT/build/release" > "$log" 2>&1 || status=$?

field() { grep -m1 "$1" "$log" | sed -n "s/.*$2=\([^ ]*\).*/\1/p"; }
echo "slirpvpn WireGuard core against wireguard-go"
echo "-------------------------------------------"
printf '%-44s %s\n' "handshake, we initiate (ms)" "$(grep -m1 'initiated_by=us' "$log" | sed -n 's/.*complete_ms=\([^ ]*\).*/\1/p')"
printf '%-44s %s\n' "handshake, wireguard-go initiates (ms)" "$(grep -m1 'initiated_by=peer' "$log" | sed -n 's/.*complete_ms=\([^ ]*\).*/\1/p')"
printf '%-44s %s\n' "encrypted ping through wireguard-go, min (ms)" "$(field '^ping:' rtt_min_ms)"
printf '%-44s %s\n' "encrypted ping, average (ms)" "$(field '^ping:' rtt_avg_ms)"
grep -E '^(PASS|FAIL) ' "$log" | sed 's/^/  /'
tail -n 1 "$log"
echo
if [ "$status" -eq 0 ]; then echo "demo: every check passed"; else echo "demo: some checks FAILED"; fi
exit "$status"
