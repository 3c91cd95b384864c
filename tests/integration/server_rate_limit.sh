#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-peer rate limits and fair shares (issue 8): one server with two peers, "bulk" (our client
# in vc) with `RateLimit = 40M` and "light" (wireguard-go in vc2) without.
#   1. bulk's download and upload each run near 40 Mbit/s and no faster: the server delays
#      bulk's packets over the rate in its shaper (rate_delayed_in/out), so TCP is paced at the
#      rate instead of collapsing as under a policer;
#   2. a reload (SIGHUP) lifts the limit: bulk's 4-flow download now runs far past 40 Mbit/s
#      (the control: the path itself did not hold it back), and light's 100 pings during that
#      download are all answered: each ring between the server's threads is fed round-robin
#      from per-peer queues, and only bulk's queue, the longest, loses packets when they
#      overflow (queue_full_in/out in the drops line). (The scheduling rules themselves are
#      tests/unit/net/round_robin_queues_test.cpp.)
# Usage: server_rate_limit.sh BUILD_DIR (as root).
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"

srv_second_client

. "$HERE/lib/client_env.sh"
cli_init "$BUILD"
BULK=$(srv_key bulk)
LIGHT=$(srv_key light)
peers_body() {  # peers_body BULK_EXTRA
  printf '[Peer]\nName = bulk\nPublicKey = %s\n%s\n\n[Peer]\nName = light\nPublicKey = %s\n' \
    "$BULK" "$1" "$LIGHT"
}
srv_write_conf "$(peers_body "RateLimit = 40M")"
srv_start || die "the server did not start"
cli_use_server bulk
cli_start || die "our client (bulk) did not come up"
wgc_up "$VC2" "wgl$$" light "" "198.51.100.129:$SRV_PORT" || die "the light peer did not come up"
wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 15 || die "bulk does not reach inet"
wait_for "ip netns exec '$VC2' ping -c 1 -W 1 '$INET_IP'" 15 || die "light does not reach inet"

# mbits NS SECONDS [IPERF ARGS...]: the receiver's Mbit/s of one iperf3 run towards inet.
mbits() {
  local ns="$1" seconds="$2"
  shift 2
  nsexec "$ns" timeout $((seconds + 20)) iperf3 -c "$INET_IP" -t "$seconds" -J "$@" 2>/dev/null |
    "$TOPO_PYTHON" -c 'import json, sys
try:
    print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)'
}

# Test that a limited peer runs at its rate in each direction: at least 60 % of it (a TCP flow
# paced by a shaper, where a policer gave 5 %) and at most 10 % over (iperf3's own rounding).
# On the ASan build only the ceiling is asserted (timing is not).
low=24
[[ "$SRV_SANITIZED" == 1 ]] && low=1
bulk_down=$(mbits "$VC" 5 -R)
check "bulk (RateLimit = 40M) downloads at $bulk_down Mbit/s ($low..44)" \
  test "$bulk_down" -ge "$low" -a "$bulk_down" -le 44
bulk_up=$(mbits "$VC" 5)
check "bulk uploads at $bulk_up Mbit/s ($low..44)" test "$bulk_up" -ge "$low" -a "$bulk_up" -le 44
stats=$(srv_stats)
printf '%s\n' "$stats" | grep 'drops:\|^slirp:' | sed 's/^/    /'
for direction in out in; do
  count=$(printf '%s\n' "$stats" | grep '^slirp:' | tr ' ' '\n' |
    awk -F= -v key="rate_delayed_$direction" '$1 == key { print $2 }')
  check "the shaper delayed bulk's packets over the rate towards the $direction side (${count:-0})" \
    test "${count:-0}" -gt 0
done

show=$("$SLIRPVPN" show --socket "$SRV_DIR/uapi.sock" --json)
check "slirpvpn show gives bulk's rate limit and its delayed packets" "$TOPO_PYTHON" -c '
import json, sys
peer = next(p for p in json.loads(sys.argv[1])["peers"] if p.get("name") == "bulk")
assert peer["rate_limit"] == 40000000 and peer["rate_delayed_out"] > 0, peer
' "$show"

# A reload lifts bulk's limit; light's pings must all get through bulk's 4-flow download.
srv_write_conf "$(peers_body "")"
kill -HUP "$(srv_pid)"
wait_for "grep -q 'reload: .* 1 updated' '$TOPO_STATE/server.log'" 10 || die "the server did not reload"
nsexec "$VC" timeout 30 iperf3 -c "$INET_IP" -t 8 -R -P 4 -J >"$TOPO_STATE/bulk.json" 2>/dev/null &
bulk_pid=$!
sleep 1
nsexec "$VC2" ping -c 100 -i 0.05 -W 2 "$INET_IP" >"$TOPO_STATE/light-ping.out" 2>&1
wait "$bulk_pid"
bulk_unlimited=$("$TOPO_PYTHON" -c 'import json, sys
try:
    print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)' "$TOPO_STATE/bulk.json")
tail -n 2 "$TOPO_STATE/light-ping.out" | sed 's/^/    /'
[[ $bulk_unlimited -gt 0 ]] || grep -i "error" "$TOPO_STATE/bulk.json" | sed 's/^/    iperf3: /'
# (Past 100 Mbit/s, well clear of the limit; on the ASan build past the limit.)
past=100
[[ "$SRV_SANITIZED" == 1 ]] && past=44
check "control: without the limit bulk downloads at $bulk_unlimited Mbit/s (4 flows, past $past)" \
  test "$bulk_unlimited" -gt "$past"
check "every one of light's 100 pings during bulk's download was answered" \
  grep -q ' 100 received' "$TOPO_STATE/light-ping.out"
stats=$(srv_stats)
printf '%s\n' "$stats" | grep 'drops:' | sed 's/^/    /'
# Who paid when the queues towards the peers overflowed: the longest queue, bulk's, never light's.
# Only when they did overflow (bulk lost packets there) does light's zero show anything.
show=$("$SLIRPVPN" show --socket "$SRV_DIR/uapi.sock" --json)
queue_drops() {  # queue_drops NAME: the peer's queue_full_out drops in `slirpvpn show`
  "$TOPO_PYTHON" -c '
import json, sys
peer = next(p for p in json.loads(sys.argv[1])["peers"] if p.get("name") == sys.argv[2])
print(peer["drops"].get("queue_full_out", 0))' "$show" "$1"
}
bulk_queue=$(queue_drops bulk)
light_queue=$(queue_drops light)
echo "    queue_full_out: bulk $bulk_queue, light $light_queue"
if [[ "$bulk_queue" -gt 0 ]]; then
  check "the queues overflowed (bulk lost $bulk_queue) and light lost none of its packets there" \
    test "$light_queue" = 0
else
  echo "    (the queues towards the peers did not overflow in this run: nothing to attribute)"
fi
cli_stop
srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
