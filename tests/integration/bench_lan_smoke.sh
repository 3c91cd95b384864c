#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_lan_smoke.sh: bench/lan.sh end to end in its shortest form (--quick, 1 s per iperf3 run,
# slirpvpn and wireguard-go only): it exits 0, its table holds a positive number for every
# figure of both systems, and it leaves no namespace or wireguard-go socket behind.
#
#   bash tests/integration/bench_lan_smoke.sh BUILD_DIR      (root; about 45 s)
set -uo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export TOPO_QUIET=1
# Only for check/pass/fail/summary: the bench builds its own topology under BENCH_ID.
# shellcheck source=lib/topology.sh
. "$ROOT/tests/integration/lib/topology.sh"

BENCH_ID="bs$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-lan-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Test that the bench runs to the end within its bound and writes the report.
start=$(date +%s)
TOPO_ID="$BENCH_ID" timeout 170 bash "$ROOT/bench/lan.sh" --quick --seconds 1 \
  --systems "slirpvpn wireguard-go" --build-dir "$BUILD" --out "$WORK/lan.md" \
  >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?
echo "bench/lan.sh: exit $rc after $(($(date +%s) - start)) s"
check "bench/lan.sh --quick exits 0" test "$rc" -eq 0
check "the report was written" test -s "$WORK/lan.md"
if ((rc != 0)); then tail -n 30 "$WORK/stderr" | sed 's/^/    | /'; fi

# Test that every figure of both systems is a positive number (loss may be 0), and that the
# table went to stdout too. A missing figure shows as "-" and fails here.
check "every figure of slirpvpn and wireguard-go is positive" "$TOPO_PYTHON" - "$WORK/lan.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rows = [l for l in text.splitlines() if l.startswith("| ") and not l.startswith("| figure")]
table = {}
for l in rows:
    cells = [c.strip() for c in l.strip("|").split("|")]
    table[cells[0]] = cells[1:]
want = ["TCP 1 flow up, Mbit/s", "TCP 1 flow down, Mbit/s", "TCP 4 flows up, Mbit/s",
        "TCP 4 flows down, Mbit/s", "ping RTT median, ms", "ping RTT p99, ms",
        "CPU s per GB moved, client + server", "CPU s per GB moved, client",
        "CPU s per GB moved, server", "server VmRSS at the end, MiB",
        "server VmHWM (peak RSS), MiB", "client VmRSS at the end, MiB"]
want += [f"UDP {n} B {d}, packets/s received" for n in (64, 1392) for d in ("up", "down")]
bad = []
for label in want:
    cells = table.get(label)
    if not cells or len(cells) != 2:
        bad.append(f"{label}: row missing")
        continue
    for c in cells:
        m = re.match(r"([0-9.]+)", c)
        if not m or float(m.group(1)) <= 0:
            bad.append(f"{label}: '{c}'")
for n in (64, 1392):
    for d in ("up", "down"):
        for c in table.get(f"UDP {n} B {d}, loss %", ["-"]):
            if not re.match(r"[0-9.]+$", c):
                bad.append(f"UDP {n} B {d} loss: '{c}'")
print("\n".join(bad) or "all figures present")
sys.exit(1 if bad else 0)
PY
check "stdout carries the table" grep -q '^| TCP 1 flow up, Mbit/s |' "$WORK/stdout"

# Test that the bench cleaned up after itself: namespaces, wireguard-go sockets, state.
check "no namespace of the bench is left" \
  bash -c "! ip netns list | awk '{print \$1}' | grep -q -- '-$BENCH_ID\$'"
check "no wireguard-go socket of the bench is left" \
  bash -c "! ls /var/run/wireguard 2>/dev/null | grep -q -- '$BENCH_ID'"
check "no state directory is left" test ! -e "/tmp/slirpvpn-topo.$BENCH_ID"
summary
