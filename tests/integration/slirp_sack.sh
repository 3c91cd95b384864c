#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Our client through our server across a lossy link: libslirp's TCP, receiving an upload,
# negotiates RFC 2018 SACK and reports the out-of-order data it holds in SACK blocks (libslirp
# patch 0005), so the client's Linux TCP can repair several holes per round trip.
#
#   $VC: slirpvpn client, TUN slc$$  ==UDP==>  wanem (2 % loss client -> server, 10 ms each way)
#        ==>  $VS: slirpvpn server (libslirp)  ==>  $INET iperf3
#   tcpdump on the TUN: the client's TCP as libslirp answers it
#
# Test that, for an iperf3 upload through the tunnel:
#  - the client's SYN offers SACK (Linux does: the control for the next check);
#  - libslirp's SYN-ACK carries SACK-permitted (`sackOK`);
#  - the loss left holes at libslirp: it sent duplicate ACKs (the control for the next checks);
#  - libslirp's ACKs carry SACK blocks, and every block lies above the ACK number, with its left
#    edge below its right one, and covers data the client sent.
# Against the previous patch set (0001-0004) or Debian's libslirp, the SYN-ACK and SACK-block
# checks fail.
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
[[ -x "$WANEM" ]] || die "no wanem binary in $BUILD/tools/wanem"
cli_resolv_conf "$VS_WAN_IP"

WANEM_PORT=52820
# Loss only towards the server: the client's data segments go missing, libslirp's ACKs do not.
bg "$VS" wanem "$WANEM" -l "$VS_WAN_IP:$WANEM_PORT" -t "$VS_WAN_IP:$SRV_PORT" -d 10 \
  --up-loss 2 --seed "$$"
wait_udp_listen "$VS" "$WANEM_PORT" 5 || die "wanem did not start"
vpn_pair "$VS_WAN_IP:$WANEM_PORT" 25
check "client handshake with slirpvpn server through wanem" cli_start || die "no handshake"

CAP="$TOPO_STATE/captures"
mkdir -p "$CAP"
bg "$VC" cap-tun tcpdump -i "$CLI_IFACE" -n -U -s 128 -w "$CAP/tun.pcap" "tcp port 5201"
wait_for "[ -s '$CAP/tun.pcap' ]" 5
sleep 0.3
check "iperf3 upload through the lossy tunnel" \
  nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 3 -J --logfile "$CAP/iperf3.json"
sleep 0.5
bg_stop cap-tun
"$TOPO_PYTHON" -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("    upload: %.1f Mbit/s, %d retransmissions" % (e["sum_received"]["bits_per_second"] / 1e6,
      e["sum_sent"].get("retransmits", -1)))' "$CAP/iperf3.json" 2>/dev/null || true
# -S: absolute sequence numbers, so SACK edges and ACK numbers compare directly.
tcpdump -r "$CAP/tun.pcap" -n -S -v 2>/dev/null >"$CAP/tun.txt"

# Per flow of libslirp's side (203.0.113.2.5201 -> the client), one line:
#   PORT CLIENT_SYN_SACKOK SYNACK_SACKOK PURE_ACKS DUP_ACKS SACK_ACKS BAD_BLOCKS
# With -v tcpdump writes each packet on two lines: the IP header, then the TCP header indented.
# A block is bad unless ack < left < right (mod 2^32) and the client sent data up to its right
# edge. Duplicate ACK: a pure ACK with the ACK number of the previous pure ACK.
awk -v inet="$INET_IP.5201" '
  function after(a, b) { d = (a - b) % 4294967296; if (d < 0) d += 4294967296; return d > 0 && d < 2147483648 }
  /^[0-9]/ { next }  # the IP header line
  {
    src = $1; dst = $3; sub(/:$/, "", dst)
    flags = ""; if (match($0, /Flags \[[^]]*\]/)) flags = substr($0, RSTART + 7, RLENGTH - 8)
    sackok = ($0 ~ /sackOK/) ? "yes" : "no"
    length_ = -1; if (match($0, /length [0-9]+/)) length_ = substr($0, RSTART + 7, RLENGTH - 7) + 0
    if (dst == inet) {
      port = src; sub(/.*\./, "", port)
      if (flags == "S") cli[port] = sackok
      if (length_ > 0 && match($0, /seq [0-9]+:[0-9]+/)) {
        split(substr($0, RSTART + 4, RLENGTH - 4), r, ":")
        if (!(port in sent) || after(r[2] + 0, sent[port])) sent[port] = r[2] + 0
      }
      next
    }
    if (src != inet) next
    port = dst; sub(/.*\./, "", port)
    if (flags == "S.") { srv[port] = sackok; next }
    if (!(port in srv) || length_ != 0 || !match($0, /ack [0-9]+/)) next
    ack = substr($0, RSTART + 4, RLENGTH - 4) + 0
    pure[port]++
    if ((port in last) && last[port] == ack) dup[port]++
    last[port] = ack
    if (!match($0, /sack [0-9]+ [^]]*/)) next
    sacks[port]++
    blocks = substr($0, RSTART, RLENGTH)
    while (match(blocks, /\{[0-9]+:[0-9]+\}/)) {
      split(substr(blocks, RSTART + 1, RLENGTH - 2), e, ":")
      if (!after(e[1] + 0, ack) || !after(e[2] + 0, e[1] + 0) ||
          !(port in sent) || after(e[2] + 0, sent[port])) bad[port]++
      blocks = substr(blocks, RSTART + RLENGTH)
    }
  }
  END {
    for (p in srv) printf "%s %s %s %d %d %d %d\n", p, (p in cli) ? cli[p] : "-", srv[p], pure[p],
      dup[p], sacks[p], bad[p]
  }
' "$CAP/tun.txt" | sort -k4,4n >"$CAP/flows.txt"
sed 's/^/    flow (port client-sackOK slirp-sackOK pure-acks dup-acks sack-acks bad-blocks): /' \
  "$CAP/flows.txt"
# The data connection is the flow with the most pure ACKs from libslirp.
read -r port cli_sack srv_sack pure dups sacks bad < <(tail -n 1 "$CAP/flows.txt")
grep -m 3 'sack [0-9]' "$CAP/tun.txt" | sed 's/^ */    e.g. /'

check "captured libslirp's SYN-ACK and ACKs of the upload (port ${port:-?}: ${pure:-0} pure ACKs)" \
  test "${pure:-0}" -gt 100
check "the client's SYN offers SACK (${cli_sack:-?})" test "${cli_sack:-}" = yes
check "libslirp's SYN-ACK carries SACK-permitted (${srv_sack:-?})" test "${srv_sack:-}" = yes
check "the loss left holes: libslirp sent ${dups:-0} duplicate ACKs" test "${dups:-0}" -gt 10
check "libslirp's ACKs carry SACK blocks (${sacks:-0} ACKs)" test "${sacks:-0}" -gt 10
check "every SACK block lies above its ACK and within the data sent (${bad:-0} bad)" \
  test "${bad:-0}" = 0

cli_stop
check "client exits 0" test "$CLI_EXIT_STATUS" = 0
summary
