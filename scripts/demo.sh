#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, on a fresh Debian 12 machine as root: installs what it needs, builds a release
# binary, and shows slirpvpn's WireGuard core talking to a stock wireguard-go in network
# namespaces (handshake both ways, encrypted ping, replay protection), with the figures.
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

echo "== wireguard-go interop in network namespaces"
log=$(mktemp /tmp/slirpvpn-demo.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
bash tests/integration/wireguard_go_interop.sh "$ROOT/build/release" > "$log" 2>&1 || status=$?

field() { grep -m1 "$1" "$log" | sed -n "s/.*$2=\([^ ]*\).*/\1/p"; }
echo
echo "slirpvpn demo report"
echo "--------------------"
printf '%-44s %s\n' "handshake, we initiate (ms)" "$(grep -m1 'initiated_by=us' "$log" | sed -n 's/.*complete_ms=\([^ ]*\).*/\1/p')"
printf '%-44s %s\n' "handshake, wireguard-go initiates (ms)" "$(grep -m1 'initiated_by=peer' "$log" | sed -n 's/.*complete_ms=\([^ ]*\).*/\1/p')"
printf '%-44s %s\n' "encrypted ping through wireguard-go, min (ms)" "$(field '^ping:' rtt_min_ms)"
printf '%-44s %s\n' "encrypted ping, average (ms)" "$(field '^ping:' rtt_avg_ms)"
grep -E '^(PASS|FAIL) ' "$log" | sed 's/^/  /'
tail -n 1 "$log"
exit "$status"
