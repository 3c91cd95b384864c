#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# WAN benchmark: one TCP flow (iperf3, 10 s up and down) through four systems side by side, each
# with its tunnel's UDP through slirpvpn-wanem at 2, 20 and 100 ms RTT and at 100 ms with 0.5 %
# loss each way. Writes bench/results/wan.md (table) and bench/results/wan.png (chart).
#
#   slirpvpn (patched)      our client and server, libslirp 4.7.0 + third_party/libslirp/patches
#   slirpvpn (system)       the same, linked against Debian's libslirp (SLIRPVPN_SYSTEM_LIBSLIRP=ON)
#   wireguard-go            wireguard-go in vc and vs, kernel forwarding + nft masquerade in vs
#   wg-go+slirp4netns       wireguard-go in vc; in vs slirp4netns (Debian's libslirp) whose
#                           guest netns sg$$ runs the server's wireguard-go and masquerades out
#                           of tap0: a "VPN over SLiRP" from stock parts, the SLiRP reference
#
#   vc: client ==UDP==> wanem (vs, 198.51.100.1:PORT+1000, RTT/2 each way) ==> server (vs) ==> inet
#
# Usage (root): bench/wan.sh
#   builds `slirpvpn` and `slirpvpn-wanem` (RelWithDebInfo, as the release preset) in
#   build/bench-patched and build/bench-system unless given:
#   PATCHED_BUILD=DIR SYSTEM_BUILD=DIR   existing build dirs holding slirpvpn (and tools/wanem)
#   RTTS="2 20 100" LOSS_RTT=100 LOSS=0.5 DURATION=10 SYSTEMS="patched system wggo slirp4netns"
#   TCP_MEM_MAX=16777216   tcp_wmem/tcp_rmem maximum set in vc, vs and inet for every system alike
#                          (Linux's default 4 MiB send buffer caps one flow near 300 Mbit/s at 100 ms)
# Bounded: 4 systems x 4 paths x 2 directions x DURATION s plus set-up; about 8 minutes.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB="$ROOT/tests/integration/lib"
RTTS=${RTTS:-"2 20 100"}
LOSS_RTT=${LOSS_RTT:-100}
LOSS=${LOSS:-0.5}
DURATION=${DURATION:-10}
SYSTEMS=${SYSTEMS:-"patched system wggo slirp4netns"}
TCP_MEM_MAX=${TCP_MEM_MAX:-16777216}
RESULTS="$ROOT/bench/results"
export TOPO_QUIET=${TOPO_QUIET:-1}
# shellcheck source=../tests/integration/lib/topology.sh
. "$LIB/topology.sh"
# shellcheck source=../tests/integration/lib/server_env.sh
. "$LIB/server_env.sh"
# shellcheck source=../tests/integration/lib/client_env.sh
. "$LIB/client_env.sh"

build() {  # build DIR [CMAKE ARGS...]: the two binaries the bench runs
  local dir="$1"
  shift
  echo "bench: building $dir" >&2
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLIRPVPN_TESTS=OFF "$@" \
    >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; return 1; }
  cmake --build "$dir" -j "${JOBS:-2}" --target slirpvpn slirpvpn-wanem >/dev/null
}
mkdir -p "$ROOT/build"
if [[ -z "${PATCHED_BUILD:-}" ]]; then
  PATCHED_BUILD="$ROOT/build/bench-patched"
  build "$PATCHED_BUILD" || die "patched build failed"
fi
if [[ -z "${SYSTEM_BUILD:-}" ]]; then
  SYSTEM_BUILD="$ROOT/build/bench-system"
  build "$SYSTEM_BUILD" -DSLIRPVPN_SYSTEM_LIBSLIRP=ON || die "system-libslirp build failed"
fi
WANEM_BIN=$(realpath "$PATCHED_BUILD/tools/wanem/slirpvpn-wanem")
[[ -x "$WANEM_BIN" ]] || die "no wanem in $PATCHED_BUILD"
for tool in iperf3 wireguard-go wg slirp4netns nft gnuplot; do
  command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps.sh"
done

srv_trap
topo_up
start_inet_services
mkdir -p /var/run/wireguard
cli_resolv_conf "$VS_WAN_IP"  # our client rewrites vc's resolv.conf, never the machine's
for ns in "$VC" "$VS" "$INET"; do
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 16384 $TCP_MEM_MAX" \
    net.ipv4.tcp_rmem="4096 131072 $TCP_MEM_MAX"
done
SG="sg$TOPO_ID"
WG_PORT=51820
WANEM_PORT=52820
DATA="$TOPO_STATE/bench"
mkdir -p "$DATA"
: >"$DATA/results.tsv"

wanem_up() {  # wanem_up RTT LOSS: in front of $VS_WAN_IP:$WG_PORT (every system listens there)
  local delay
  delay=$(awk -v r="$1" 'BEGIN { printf "%g", r / 2 }')
  bg "$VS" wanem "$WANEM_BIN" -l "$VS_WAN_IP:$WANEM_PORT" -t "$VS_WAN_IP:$WG_PORT" -d "$delay" \
    ${2:+-L "$2"} --lifetime 1800
  wait_udp_listen "$VS" "$WANEM_PORT" 5
}

wg_pair_keys() {
  (umask 077 && wg genkey >"$DATA/srv.key" && wg genkey >"$DATA/cli.key")
}
wg_client_up() {  # wireguard-go in vc towards wanem, 10.7.0.2, inet through the tunnel
  local ifc="wgc$TOPO_ID"
  SRV_IFACES+=("${ifc:0:15}")
  bg "$VC" wg-client env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "${ifc:0:15}"
  wait_for test -S "/var/run/wireguard/${ifc:0:15}.sock" 10 || return 1
  ip netns exec "$VC" wg set "${ifc:0:15}" private-key "$DATA/cli.key" \
    peer "$(wg pubkey <"$DATA/srv.key")" endpoint "$VS_WAN_IP:$WANEM_PORT" allowed-ips 0.0.0.0/0 \
    persistent-keepalive 25
  ip -n "$VC" addr add 10.7.0.2/24 dev "${ifc:0:15}"
  ip -n "$VC" link set "${ifc:0:15}" mtu 1420 up
  ip -n "$VC" route add "$INET_IP/32" dev "${ifc:0:15}"
}
wg_server_up() {  # wg_server_up NS OUT_IFACE: wireguard-go on :$WG_PORT, masquerade out of OUT_IFACE
  local ns="$1" out="$2" ifs="wgs$TOPO_ID"
  SRV_IFACES+=("${ifs:0:15}")
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$ns" nft -f - <<NFT || return 1
table ip benchnat {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "$out" masquerade; }
}
NFT
  bg "$ns" wg-server env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "${ifs:0:15}"
  wait_for test -S "/var/run/wireguard/${ifs:0:15}.sock" 10 || return 1
  ip netns exec "$ns" wg set "${ifs:0:15}" private-key "$DATA/srv.key" listen-port "$WG_PORT" \
    peer "$(wg pubkey <"$DATA/cli.key")" allowed-ips 10.7.0.2/32
  ip -n "$ns" addr add 10.7.0.1/24 dev "${ifs:0:15}"
  ip -n "$ns" link set "${ifs:0:15}" mtu 1420 up
}
wg_down() {
  bg_stop wg-client
  bg_stop wg-server
  ip netns exec "$VS" nft delete table ip benchnat 2>/dev/null
  ip netns exec "$VS" sysctl -qw net.ipv4.ip_forward=0
  for ifc in "${SRV_IFACES[@]}"; do rm -f "/var/run/wireguard/$ifc.sock"; done
}

# slirp4netns' API socket takes one JSON request per connection.
slirp4netns_api() {
  "$TOPO_PYTHON" - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
sys.exit(0 if "return" in json.loads(s.recv(4096).decode()) else 1)
PY
}

system_up() {  # system_up NAME
  case "$1" in
    patched | system)
      local build="$PATCHED_BUILD"
      [[ "$1" == system ]] && build="$SYSTEM_BUILD"
      srv_init "$build" && cli_init "$build" || return 1
      vpn_pair "$VS_WAN_IP:$WANEM_PORT" 25 || return 1
      cli_start
      ;;
    wggo)
      wg_pair_keys && wg_server_up "$VS" inet0 && wg_client_up
      ;;
    slirp4netns)
      _topo_add_ns "$SG"
      wg_pair_keys || return 1
      local api="$TOPO_STATE/slirp4netns.sock"
      bg "$VS" slirp4netns slirp4netns --configure --mtu=1500 --disable-host-loopback \
        --api-socket "$api" --netns-type=path "/run/netns/$SG" tap0
      wait_for test -S "$api" 10 || return 1
      wait_for "ip -n '$SG' -4 addr show dev tap0 | grep -q 10.0.2.100" 10 || return 1
      slirp4netns_api "$api" '{"execute": "add_hostfwd", "arguments": {"proto": "udp", "host_addr": "'"$VS_WAN_IP"'", "host_port": '"$WG_PORT"', "guest_addr": "10.0.2.100", "guest_port": '"$WG_PORT"'}}' ||
        return 1
      wg_server_up "$SG" tap0 && wg_client_up
      ;;
  esac
}
system_down() {
  case "$1" in
    patched | system)
      cli_stop
      srv_stop
      ;;
    wggo) wg_down ;;
    slirp4netns)
      wg_down
      bg_stop slirp4netns
      ip netns del "$SG" 2>/dev/null
      sed -i "/^$SG\$/d" "$TOPO_STATE/namespaces"
      ;;
  esac
}

measure() {  # measure SYSTEM RTT LOSS DIR
  local json="$DATA/$1.$2.${3:-0}.$4.json" flag=""
  [[ "$4" == down ]] && flag=-R
  timeout $((DURATION + 30)) ip netns exec "$VC" iperf3 -c "$INET_IP" -t "$DURATION" $flag -J \
    >"$json" 2>/dev/null
  local mbps
  mbps=$("$TOPO_PYTHON" -c 'import json, sys
try:
    print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("ERR")' "$json")
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:-0}" "$4" "$mbps" >>"$DATA/results.tsv"
  echo "bench: $1 rtt=$2 loss=${3:-0} $4: $mbps Mbit/s" >&2
}

started=$(date -u +'%Y-%m-%d %H:%M UTC')
paths=()
for rtt in $RTTS; do paths+=("$rtt:"); done
paths+=("$LOSS_RTT:$LOSS")
for path in "${paths[@]}"; do
  rtt=${path%%:*}
  loss=${path#*:}
  wanem_up "$rtt" "$loss" || die "wanem did not start"
  for sys in $SYSTEMS; do
    if system_up "$sys" && wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 15; then
      sleep 1
      measure "$sys" "$rtt" "$loss" up
      sleep 1
      measure "$sys" "$rtt" "$loss" down
    else
      echo "bench: $sys did not come up at rtt=$rtt loss=$loss" >&2
      printf '%s\t%s\t%s\tup\tERR\n%s\t%s\t%s\tdown\tERR\n' "$sys" "$rtt" "${loss:-0}" "$sys" "$rtt" \
        "${loss:-0}" >>"$DATA/results.tsv"
    fi
    system_down "$sys"
  done
  bg_stop wanem
done
finished=$(date -u +'%Y-%m-%d %H:%M UTC')

# ---------------------------------------------------------------- report
mkdir -p "$RESULTS"
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$TOPO_PYTHON" - "$DATA/results.tsv" "$RESULTS" "$started" "$finished" "$load" "$TCP_MEM_MAX" \
  "$DURATION" "$(sysctl -n net.ipv4.tcp_congestion_control)" "$LOSS" "$LOSS_RTT" <<'PY'
import sys
tsv, out, started, finished, load, memmax, duration, cc, loss, loss_rtt = sys.argv[1:]
names = {"patched": "slirpvpn, patched libslirp", "system": "slirpvpn, Debian's libslirp 4.7",
         "wggo": "wireguard-go + kernel NAT", "slirp4netns": "wg-go + slirp4netns (libslirp 4.7)"}
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
val = {(s, r, l, d): m for s, r, l, d, m in rows}
systems = list(dict.fromkeys(r[0] for r in rows))
paths = list(dict.fromkeys((r[1], r[2]) for r in rows))
def label(p):
    return f"{p[0]} ms" + (f", {p[1]} % loss" if p[1] not in ("", "0") else "")
def num(v):
    try: return float(v)
    except ValueError: return None
lines = ["# WAN benchmark: one TCP flow through each system", "",
         f"bench/wan.sh, {started} to {finished}; iperf3 {duration} s per direction, one run; "
         f"RTT added by slirpvpn-wanem on the tunnel's UDP (RTT/2 each way; loss {loss} % each way "
         f"at {loss_rtt} ms); tcp_wmem/tcp_rmem max {memmax} bytes in every namespace; "
         f"congestion control {cc}; load average at the end {load} (one 10 s run per cell: "
         "compare ratios within a run).", "",
         "Mbit/s (ratio to wireguard-go):", "",
         "| system | " + " | ".join(f"{label(p)} up | {label(p)} down" for p in paths) + " |",
         "|---|" + "---:|" * (2 * len(paths))]
for s in systems:
    cells = []
    for p in paths:
        for d in ("up", "down"):
            v, ref = num(val.get((s, p[0], p[1], d), "")), num(val.get(("wggo", p[0], p[1], d), ""))
            if v is None: cells.append("ERR"); continue
            cells.append(f"{v:.1f}" + (f" ({v / ref:.2f})" if ref else ""))
    lines.append(f"| {names.get(s, s)} | " + " | ".join(cells) + " |")
ratios = []
for p in paths:
    for d in ("up", "down"):
        a, b = num(val.get(("patched", p[0], p[1], d), "")), num(val.get(("system", p[0], p[1], d), ""))
        if a and b: ratios.append(f"{label(p)} {d}: {a / b:.1f}x")
if ratios:
    lines += ["", "patched / unpatched slirpvpn: " + ", ".join(ratios) + "."]
lines += ["", "With loss, libslirp's own TCP sets the download's pace: it terminates the client's "
          "flow and, as a sender, is Reno-era: it ignores SACK blocks, halves its window on every "
          "loss and has a 1 s minimum RTO; with patch 0006 (NewReno) it at least repairs the next "
          "hole of a window at once. The download is thus loss-bound, at about Mathis' "
          "MSS/RTT x 1.22/sqrt(p) (about 2 Mbit/s at 100 ms and 0.5 %). "
          "As a receiver the patched libslirp reports its out-of-order queue in SACK blocks "
          "(patch 0005), so the upload's Linux sender repairs several losses per round trip. "
          "wireguard-go carries the endpoints' own TCP (BBR with SACK) end to end."]
open(f"{out}/wan.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
# gnuplot data: one block per system, lossless paths only, columns rtt up down
with open(f"{out}/wan.dat", "w") as f:
    for s in systems:
        f.write(f'"{names.get(s, s)}"\n')
        for p in paths:
            if p[1] not in ("", "0"): continue
            u, d = num(val.get((s, p[0], p[1], "up"), "")), num(val.get((s, p[0], p[1], "down"), ""))
            f.write(f"{p[0]} {u if u else 'NaN'} {d if d else 'NaN'}\n")
        f.write("\n\n")
PY
nblocks=$(grep -c '^"' "$RESULTS/wan.dat")
gnuplot <<GP || echo "bench: gnuplot failed" >&2
set terminal pngcairo size 1100,480 font ",10"
set output "$RESULTS/wan.png"
set multiplot layout 1,2 title "One TCP flow through the tunnel vs RTT (bench/wan.sh, $started)"
set logscale xy
set xlabel "RTT (ms)"
set ylabel "Mbit/s"
set grid
set key bottom left
set xtics ($(echo "$RTTS" | awk '{ for (i = 1; i <= NF; i++) { printf "%s\"%s\" %s", sep, $i, $i; sep = ", " } }'))
set title "upload (client -> inet)"
plot for [i=0:$((nblocks - 1))] "$RESULTS/wan.dat" index i using 1:2 with linespoints lw 2 title columnheader(1)
set title "download (inet -> client)"
plot for [i=0:$((nblocks - 1))] "$RESULTS/wan.dat" index i using 1:3 with linespoints lw 2 title columnheader(1)
unset multiplot
GP
rm -f "$RESULTS/wan.dat"
echo "bench: wrote $RESULTS/wan.md and $RESULTS/wan.png" >&2
