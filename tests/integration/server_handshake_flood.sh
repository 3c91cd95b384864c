#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The slirpvpn server under a 30 s handshake flood (issue 8) while an honest WireGuard peer
# runs an iperf3 upload and pings through it: our own client, or wireguard-go with
# HONEST=wireguard-go.
#
#   $VC                                               $VS                        $INET
#  +------------------------------------------+     +-----------------------+   +-------------+
#  | honest client (peer "vc") 10.0.2.15       |     | slirpvpn server       |   | iperf3 :5201|
#  |   iperf3 -c 203.0.113.2, ping -i 0.1      |====>|  (nobody), UDP 51820  |<=>| 203.0.113.2 |
#  | slirpvpn-wgjunk --flood-seconds 30        |====>|  peers: vc, rogue     |   +-------------+
#  |   in cgroup slirpvpn-flood-$$ (cpu.max    |     | wan0 198.51.100.1     |
#  |   half a core)                            |     +-----------------------+
#  | wan0 198.51.100.2/24                      |
#  +------------------------------------------+
#
# The flood mixes random datagrams, initiations from unknown keys, replayed transport packets
# (captured as the configured peer "rogue") and initiations from the honest peer's own key with
# stale timestamps, as fast as half a core allows (a cgroup caps it, so the two cores are
# shared the same way on every run).
#
# Test that: during the flood the honest transfer completes at >= 50 % of its unloaded
# throughput, and ping p99 stays under issue 8's 50 ms with our client (with wireguard-go, whose
# own queues exceed that during an upload, it grows by at most twice plus 10 ms over the same
# transfer without the flood); timing only on release builds, not under ASan. The flood gets no
# handshake response and no data; the server switches cookies on (invalid_mac2) and counts the
# other kinds by reason; and the server's drop counters (plus the kernel's receive-buffer drops
# on its socket) account for >= 90 % of what was sent.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"

FLOOD_SECONDS=30
CPU_QUOTA_US=50000   # of every 100 ms: half a core
CGROUP=""

# The flood tool's cgroup: cgroup v2 when its cpu controller is available, else the v1 cpu
# hierarchy (hybrid hosts mount cpu there and leave v2 without it).
cgroup_up() {
  local v2 name="slirpvpn-flood-$$"
  v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  if [[ -n "$v2" ]] && grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
    if ! grep -qw cpu "$v2/cgroup.subtree_control"; then
      echo +cpu >"$v2/cgroup.subtree_control" || return 1
    fi
    CGROUP="$v2/$name"
    mkdir "$CGROUP" || return 1
    echo "$CPU_QUOTA_US 100000" >"$CGROUP/cpu.max" || return 1
  else
    local v1
    v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ { print $2; exit }' /proc/mounts)
    [[ -n "$v1" ]] || return 1
    CGROUP="$v1/$name"
    mkdir "$CGROUP" || return 1
    echo 100000 >"$CGROUP/cpu.cfs_period_us" || return 1
    echo "$CPU_QUOTA_US" >"$CGROUP/cpu.cfs_quota_us" || return 1
  fi
  echo "    cgroup $CGROUP: $CPU_QUOTA_US us of CPU per 100 ms"
}

cgroup_down() {
  [[ -n "$CGROUP" && -d "$CGROUP" ]] || return 0
  local pid
  while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$CGROUP/cgroup.procs"
  for _ in $(seq 30); do rmdir "$CGROUP" 2>/dev/null && return 0; sleep 0.1; done
  echo "warning: could not remove $CGROUP" >&2
}

# srv_trap's cleanup (installed by server_test.sh) plus the cgroup.
# shellcheck disable=SC2154  # rc is assigned inside the trap string
trap 'rc=$?; trap - EXIT; cgroup_down; srv_cleanup; exit $rc' EXIT
trap 'cgroup_down; srv_cleanup; trap - EXIT; exit 130' INT
trap 'cgroup_down; srv_cleanup; trap - EXIT; exit 143' TERM

[[ -x "$WGJUNK" ]] || die "no slirpvpn-wgjunk in $BUILD/tools/wgjunk"
HONEST=${HONEST:-slirpvpn}

VC_PUB=$(srv_key vc)
ROGUE_PUB=$(srv_key rogue)
srv_write_conf "[Peer]
Name = vc
PublicKey = $VC_PUB

[Peer]
Name = rogue
PublicKey = $ROGUE_PUB"
srv_start --log-level info || die "the server did not start (log above)"
case "$HONEST" in
  slirpvpn)
    # shellcheck source=lib/client_env.sh
    . "$HERE/lib/client_env.sh"
    cli_init "$BUILD"
    cli_use_server vc
    cli_start || die "our client did not come up"
    ;;
  wireguard-go) wgc_up "$VC" "wgc$$" vc || die "wireguard-go did not come up" ;;
  *) die "HONEST must be slirpvpn or wireguard-go, not '$HONEST'" ;;
esac
echo "    honest peer: $HONEST"
check "ping inet through the tunnel" nsexec "$VC" ping -c 2 -i 0.3 -W 5 "$INET_IP"
wait_tcp_listen "$INET" "$INET_IP" 5201 || die "no iperf3 server in $INET"

# iperf_bps NAME: bits per second the receiver saw in $TOPO_STATE/NAME.json (empty if none).
iperf_bps() {
  jq -r '.end.sum_received.bits_per_second // empty' "$TOPO_STATE/$1.json" 2>/dev/null |
    awk '{ printf "%.0f\n", $1 }'
}
# rcvbuf_errors: UDP datagrams the kernel dropped in $VS because a socket buffer was full.
rcvbuf_errors() {
  ip netns exec "$VS" awk '/^Udp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) col[$i] = i;
    else { print $col["RcvbufErrors"]; exit } }' /proc/net/snmp
}
# drop_total BLOCK: the sum of the device's drop counters in a stats block: not slirp_ or send_,
# nor the rings' and queues' (ring_, queue_full_), which count the honest transfer's packets.
drop_total() {
  printf '%s\n' "$1" | grep 'drops:' | tr ' ' '\n' | grep '=' |
    grep -v '^slirp_\|^send_\|^ring_\|^queue_full_' |
    awk -F= '{ s += $2 } END { print s + 0 }'
}

# ping_p99 FILE: the 99th percentile of ping's round-trip times in FILE ("none" if no reply).
ping_p99() {
  grep -o 'time=[0-9.]*' "$1" | cut -d= -f2 | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "none"; exit } i = int(NR * 0.99 + 0.999);
      if (i > NR) i = NR; print v[i] }'
}

# Test that the unloaded figures are measured first: a 5 s upload, and pings during it (the
# queueing the transfer itself causes, for comparison with the flood's).
(ip netns exec "$VC" ping -i 0.1 -c 45 -W 1 "$INET_IP" >"$TOPO_STATE/ping_unloaded.txt" 2>&1) &
ping_pid=$!
nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 5 -J >"$TOPO_STATE/unloaded.json"
wait "$ping_pid"
p99_unloaded=$(ping_p99 "$TOPO_STATE/ping_unloaded.txt")
echo "    ping during the unloaded transfer: p99 $p99_unloaded ms"
unloaded=$(iperf_bps unloaded)
check "unloaded iperf3 completed" test -n "$unloaded"
echo "    unloaded: $((${unloaded:-0} / 1000000)) Mbit/s"

cgroup_up || die "no cgroup with a cpu controller (cgroup v2 cpu.max or v1 cpu.cfs_quota_us)"
before=$(srv_stats)
rcvbuf_before=$(rcvbuf_errors)

# Test that the honest peer keeps working through the flood. The tool joins the cgroup before
# it starts (so its first datagram is already capped), and before `ip netns exec`, which
# mounts a fresh /sys without the cgroup hierarchies. Its pools take about a second to make.
# As bg does: its own session, a PID file topo_down stops it by.
setsid bash -c "echo \$\$ >'$CGROUP/cgroup.procs' && exec ip netns exec '$VC' \
  timeout $((FLOOD_SECONDS + 30)) '$WGJUNK' --endpoint '$VS_WAN_IP:$SRV_PORT' \
  --server-public-key '$SRV_PUB' --private-key-file '$SRV_DIR/rogue.key' \
  --stale-key-file '$SRV_DIR/vc.key' --flood-seconds $FLOOD_SECONDS \
  --timeout $((FLOOD_SECONDS + 20))" >"$TOPO_STATE/flood.log" 2>&1 </dev/null &
flood_pid=$!
echo "$flood_pid $(_topo_starttime "$flood_pid")" >"$TOPO_STATE/flood.pid"
wait_for grep -q '^flood:\|^capture:' "$TOPO_STATE/flood.log" 15 || die "the flood did not start"
sleep 2
(ip netns exec "$VC" ping -i 0.1 -c 200 -W 1 "$INET_IP" >"$TOPO_STATE/ping.txt" 2>&1) &
ping_pid=$!
nsexec "$VC" timeout 40 iperf3 -c "$INET_IP" -t 20 -J >"$TOPO_STATE/loaded.json"
iperf_rc=$?
wait "$ping_pid"
check "the flood was still running after the transfer" kill -0 "$flood_pid"
for _ in $(seq $((FLOOD_SECONDS + 30))); do kill -0 "$flood_pid" 2>/dev/null || break; sleep 1; done
wait "$flood_pid" 2>/dev/null
sed 's/^/    | /' "$TOPO_STATE/flood.log"
after=$(srv_stats)
rcvbuf_after=$(rcvbuf_errors)
printf '%s\n' "$after" | grep 'drops:' | sed 's/^/    /'

loaded=$(iperf_bps loaded)
check "the transfer during the flood completed (iperf3 exit 0)" test "$iperf_rc" = 0 -a -n "$loaded"
echo "    during the flood: $((${loaded:-0} / 1000000)) Mbit/s (unloaded $((${unloaded:-0} / 1000000)))"
replies=$(grep -c 'time=' "$TOPO_STATE/ping.txt")
p99=$(ping_p99 "$TOPO_STATE/ping.txt")
echo "    ping: $replies/200 replies, p99 ${p99} ms"
check "ping during the flood: >= 190 of 200 replies" test "$replies" -ge 190
if [[ "$SRV_SANITIZED" == 1 ]]; then
  echo "    (ASan build: throughput and latency not asserted)"
else
  check "throughput during the flood >= 50 % of unloaded" \
    test "$((${loaded:-0} * 2))" -ge "${unloaded:-1}"
  # Issue 8 asks for p99 < 50 ms. wireguard-go's own queues hold its pings for 50-90 ms while
  # it uploads, flood or not (measured through this server: p99 92 ms during a 550 Mbit/s
  # upload, against 13 ms for our client at 1470 Mbit/s). So the absolute bound is asserted
  # for our client, and for wireguard-go what the flood adds: at most twice the same
  # transfer's p99 without it plus 10 ms (1.5 x failed once on a machine also running a fuzzer).
  if [[ "$HONEST" == slirpvpn ]]; then
    check "issue 8: ping p99 during the flood < 50 ms ($p99 ms; without it $p99_unloaded ms)" \
      awk -v p="$p99" 'BEGIN { exit !(p != "none" && p < 50) }'
  else
    check "ping p99 during the flood <= 2 x the unloaded transfer's + 10 ms" \
      awk -v p="$p99" -v u="$p99_unloaded" \
      'BEGIN { exit !(p != "none" && u != "none" && p <= u * 2 + 10) }'
  fi
fi

# Test that the flood got nothing but cookie replies, and that its packets were counted.
check "wgjunk: no responses or data to the flood (result ok)" grep -q '^result: ok' \
  "$TOPO_STATE/flood.log"
flood_line=$(grep '^flood:' "$TOPO_STATE/flood.log")
field() { printf '%s\n' "$flood_line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
sent=$(field sent)
delta() { echo $(($(srv_drop_count "$after" "$1") - $(srv_drop_count "$before" "$1"))); }
dropped=$(($(drop_total "$after") - $(drop_total "$before")))
kernel=$((rcvbuf_after - rcvbuf_before))
echo "    sent ${sent:-?}; the server dropped $dropped by reason; the kernel dropped $kernel" \
  "(socket buffer full)"
for reason in invalid_mac2 unknown_peer stale_timestamp replayed_counter unknown_type \
  invalid_mac1 unknown_index handshake_rate_limited handshake_budget; do
  echo "    $reason: +$(delta "$reason")"
done
check "cookies switched on under the flood (invalid_mac2 > 0)" test "$(delta invalid_mac2)" -gt 0
check "random datagrams counted (unknown_type > 0)" test "$(delta unknown_type)" -gt 0
check "replays counted (replayed_counter > 0)" test "$(delta replayed_counter)" -gt 0
check "the flood sent something" test "${sent:-0}" -gt 0
check "drops by reason + kernel drops >= 90 % of what the flood sent" \
  test "$(((dropped + kernel) * 10))" -ge "$((${sent:-0} * 9))"
check "no more drops than datagrams sent (+1 % for the honest peer's own)" \
  test "$((dropped * 100))" -le "$((${sent:-0} * 101 + 10000))"
check "the honest peer still works after the flood" nsexec "$VC" ping -c 2 -i 0.3 -W 3 "$INET_IP"

srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
