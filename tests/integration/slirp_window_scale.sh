#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client through our server: libslirp's TCP negotiates RFC 7323 window scaling (the patched
# build of third_party/libslirp) and advertises more than 64 KiB of window to the client.
#
#   $VC: slirpvpn client, TUN slc$$  ==UDP==>  $VS: slirpvpn server (libslirp)  ==>  $INET iperf3
#   tcpdump on the TUN: the client's TCP as libslirp answers it
#
# Test that, for an iperf3 download (-R) through the tunnel:
#  - the client's SYN offers a window scale (Linux always does: the control for the next check);
#  - libslirp's SYN-ACK carries a window-scale option (`wscale N`);
#  - the window libslirp advertises on the data connection, tcpdump's `win` times 2^N, grows past
#    65535 bytes, the most an unscaled window can say.
# Against Debian's unpatched libslirp 4.7 (-DSLIRPVPN_SYSTEM_LIBSLIRP=ON) the last two fail.
set -uo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/server_env.sh
. "$HERE/lib/server_env.sh"
# shellcheck source=lib/client_env.sh
. "$HERE/lib/client_env.sh"

srv_trap
topo_up
start_inet_services
srv_init "$BUILD"
cli_init "$BUILD"
cli_resolv_conf "$VS_WAN_IP"
if grep -q '^SLIRPVPN_SYSTEM_LIBSLIRP:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "    note: $BUILD links the system libslirp (SLIRPVPN_SYSTEM_LIBSLIRP=ON): expect failures"
fi

vpn_pair "$VS_WAN_IP:$SRV_PORT" 25
check "client handshake with slirpvpn server" cli_start || die "no handshake"

CAP="$TOPO_STATE/captures"
mkdir -p "$CAP"
bg "$VC" cap-tun tcpdump -i "$CLI_IFACE" -n -U -s 128 -w "$CAP/tun.pcap" "tcp port 5201"
wait_for "[ -s '$CAP/tun.pcap' ]" 5
sleep 0.3
check "iperf3 download (-R) through the tunnel" \
  nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 3 -R -J --logfile "$CAP/iperf3.json"
sleep 0.5
bg_stop cap-tun
"$TOPO_PYTHON" -c 'import json, sys
print("    download: %.0f Mbit/s" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
  "$CAP/iperf3.json" 2>/dev/null || true
tcpdump -r "$CAP/tun.pcap" -n -tt 2>/dev/null >"$CAP/tun.txt"

# One line per flow of libslirp's side (203.0.113.2.5201 -> the client):
#   PORT CLIENT_SYN_WSCALE SYNACK_WSCALE MAX_WIN_FIELD MAX_SCALED_WINDOW
# The scale applies only when both SYNs carried the option (RFC 7323 2.2).
awk -v inet="$INET_IP.5201" '
  function wscale(line) { return match(line, /wscale [0-9]+/) ? substr(line, RSTART + 7, RLENGTH - 7) : "-" }
  $2 == "IP" {
    src = $3; dst = $5; sub(/:$/, "", dst)
    flags = ""; if (match($0, /Flags \[[^]]*\]/)) flags = substr($0, RSTART + 7, RLENGTH - 8)
    win = -1; if (match($0, /win [0-9]+/)) win = substr($0, RSTART + 4, RLENGTH - 4) + 0
    if (dst == inet && flags == "S") { port = src; sub(/.*\./, "", port); cli[port] = wscale($0) }
    if (src == inet) {
      port = dst; sub(/.*\./, "", port)
      if (flags == "S.") { srv[port] = wscale($0); next }
      if (win < 0 || !(port in srv)) next
      shift = (srv[port] != "-" && cli[port] != "-") ? srv[port] : 0
      if (win > maxwin[port]) maxwin[port] = win
      if (win * 2 ^ shift > maxscaled[port]) maxscaled[port] = win * 2 ^ shift
      packets[port]++
    }
  }
  END { for (p in srv) printf "%s %s %s %d %d %d\n", p, (p in cli) ? cli[p] : "-", srv[p], maxwin[p], maxscaled[p], packets[p] }
' "$CAP/tun.txt" | sort -k6,6n >"$CAP/flows.txt"
sed 's/^/    flow (port client-wscale slirp-wscale max-win max-window packets): /' "$CAP/flows.txt"
# The data connection is the flow with the most packets from libslirp.
read -r port cli_ws srv_ws max_win max_window packets < <(tail -n 1 "$CAP/flows.txt")

check "captured libslirp's SYN-ACK and data of the download" test "${packets:-0}" -gt 100
check "the client's SYN offers a window scale (wscale ${cli_ws:-?})" test "${cli_ws:--}" != -
check "libslirp's SYN-ACK carries a window scale (wscale ${srv_ws:-?})" test "${srv_ws:--}" != -
check "libslirp advertises more than 64 KiB (${max_window:-0} bytes = win ${max_win:-0} << ${srv_ws:-0})" \
  test "${max_window:-0}" -gt 65535

cli_stop
check "client exits 0" test "$CLI_EXIT_STATUS" = 0
summary
