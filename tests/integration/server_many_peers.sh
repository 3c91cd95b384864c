#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Many peers on one server: slirpvpn-wgswarm simulates N WireGuard clients (our protocol core,
# a few UDP sockets, no TUN) in $VC; each handshakes and pings the gateway 10.0.2.2 (answered by
# its own libslirp instance) M times. Then the idle sweep (SessionIdleTimeout = 2) frees every
# slirp instance, and a second round recreates them.
#
#   $VC  slirpvpn-wgswarm: N keys, 1 UDP socket per 256 peers        wan0 198.51.100.2/24
#          <=> $VS  wan0 198.51.100.1/24  slirpvpn server as nobody, UDP 51820, N [Peer]s
#
# Test that: all N peers complete a handshake and get M echoes answered (release: N=1000,
# M=100, within 60 s; ASan/UBSan build: N=50, M=10, no timing); the server's fds stay far below
# its RLIMIT_NOFILE; every session is freed after the idle timeout and the RSS per idle peer
# (server with N idle peers minus a server with none, over N) is at most 64 KiB (release); the
# next packets create the sessions again and are answered.
# Figures printed: swarm output (handshake time, RTT percentiles), RSS base / configured /
# peak / idle, fds.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=lib/server_env.sh
. "$HERE/lib/server_env.sh"

srv_trap
topo_up
srv_init "$BUILD"
SWARM=$(realpath "$BUILD/tools/wgswarm/slirpvpn-wgswarm" 2>/dev/null) ||
  die "no slirpvpn-wgswarm in $BUILD/tools/wgswarm"

if ((SRV_SANITIZED)); then
  PEERS=${SWARM_PEERS:-50} PINGS=${SWARM_PINGS:-10} SWARM_TIMEOUT=120
else
  PEERS=${SWARM_PEERS:-1000} PINGS=${SWARM_PINGS:-100} SWARM_TIMEOUT=60
fi
IDLE_TIMEOUT=2
MAX_IDLE_PEER_KIB=64

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$(srv_pid)/status"; }
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$(srv_pid)/status"; }
fd_count() { find "/proc/$(srv_pid)/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fd_limit() { awk '/^Max open files/ { print $4 }' "/proc/$(srv_pid)/limits"; }

# sessions_field FIELD: from a fresh SIGUSR1 stats block, the server's `sessions:` line.
sessions_field() {
  srv_stats >/dev/null || return 1
  grep '^sessions:' "$TOPO_STATE/server.log" | tail -n 1 | tr ' ' '\n' |
    awk -F= -v f="$1" '$1 == f { print $2 }'
}

swarm_run() {  # swarm_run OUT PINGS: every key against the server, from $VC
  nsexec "$VC" "$SWARM" run --keys-file "$SRV_DIR/swarm.keys" --server-public-key "$SRV_PUB" \
    --endpoint "$VS_WAN_IP:$SRV_PORT" --pings "$2" --timeout "$SWARM_TIMEOUT" >"$1" 2>&1
  local rc=$?
  sed 's/^/    | /' "$1" >&2
  return $rc
}

# The baseline: the same server with no peer at all.
srv_write_conf "SessionIdleTimeout = $IDLE_TIMEOUT"
srv_start || die "the server without peers did not start"
RSS_BASE=$(rss_kib)
srv_stop

"$SWARM" keys --peers "$PEERS" --keys-file "$SRV_DIR/swarm.keys" \
  --peers-conf "$SRV_DIR/swarm-peers.conf" || die "wgswarm keys failed"
srv_write_conf "SessionIdleTimeout = $IDLE_TIMEOUT

$(cat "$SRV_DIR/swarm-peers.conf")"
srv_start || die "the server with $PEERS peers did not start (log above)"
RSS_CONFIGURED=$(rss_kib)

# Test that every peer completes its handshake and gets every echo answered in time.
# The server's fds sampled while the swarm runs (every 0.2 s, highest kept): 1000 slirp
# instances must not need 1000s of descriptors.
( max=0
  while [ -d "/proc/$(srv_pid)" ] && [ ! -e "$TOPO_STATE/swarm1.done" ]; do
    n=$(fd_count 2>/dev/null || echo 0)
    ((n > max)) && max=$n && echo "$max" >"$TOPO_STATE/fds.max"
    sleep 0.2
  done ) &
sampler=$!
start=$(date +%s%N)
swarm_run "$TOPO_STATE/swarm1.out" "$PINGS"
swarm_rc=$?
touch "$TOPO_STATE/swarm1.done"
wait "$sampler"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "$PEERS peers: handshake and $PINGS echoes each answered (wgswarm exit 0)" \
  test "$swarm_rc" -eq 0
check "wgswarm: $PEERS handshakes completed" \
  grep -q "^handshakes: completed=$PEERS " "$TOPO_STATE/swarm1.out"
check "wgswarm: $((PEERS * PINGS)) echoes answered" \
  grep -q "answered=$((PEERS * PINGS)) " "$TOPO_STATE/swarm1.out"
if ((SRV_SANITIZED)); then
  echo "    (sanitizer build: ${elapsed_ms} ms, not checked)"
else
  check "the whole swarm run took at most 60 s (${elapsed_ms} ms)" test "$elapsed_ms" -le 60000
fi
# Peers that finished early may already be idle and freed: the peak holds every session.
RSS_ACTIVE=$(peak_rss_kib)
FDS_ACTIVE=$(cat "$TOPO_STATE/fds.max" 2>/dev/null || echo 0)
FD_LIMIT=$(fd_limit)
created=$(sessions_field created)
check "one slirp session per peer, none freed while in use (created=$created)" \
  test "$created" = "$PEERS"
# Sessions with nothing open hold no socket: the server's fds stay near its fixed set.
check "server fds (at most $FDS_ACTIVE during the run) far below RLIMIT_NOFILE ($FD_LIMIT)" \
  test "$FDS_ACTIVE" -gt 0 -a "$FDS_ACTIVE" -lt 64 -a "$FD_LIMIT" -ge 4096

# Test that the idle sweep frees every session once the timeout has passed.
# Once a second (each look is a SIGUSR1 stats dump of every peer), bounded.
for _ in $(seq $((IDLE_TIMEOUT * 3 + 5))); do
  sleep 1
  [ "$(sessions_field active)" = 0 ] && break
done
FREED=$(sessions_field freed_idle)
check "every slirp session freed after SessionIdleTimeout = $IDLE_TIMEOUT s (freed_idle=$FREED)" \
  test "$FREED" = "$PEERS"
RSS_IDLE=$(rss_kib)
PER_PEER=$(((RSS_IDLE - RSS_BASE) / PEERS))
echo "    RSS KiB: no peers $RSS_BASE, $PEERS configured $RSS_CONFIGURED," \
  "peak $RSS_ACTIVE, idle $RSS_IDLE; per idle peer $PER_PEER KiB;" \
  "per session at the peak $(((RSS_ACTIVE - RSS_IDLE) / PEERS)) KiB; at most $FDS_ACTIVE fds of $FD_LIMIT"
if ((SRV_SANITIZED)); then
  echo "    (sanitizer build: RSS per idle peer not checked)"
else
  # Only meaningful once the sessions are gone: hence the freed count in the same check.
  check "RSS per idle peer ($PER_PEER KiB) <= $MAX_IDLE_PEER_KIB KiB, sessions freed" \
    test "$PER_PEER" -le "$MAX_IDLE_PEER_KIB" -a "$FREED" = "$PEERS"
fi

# Test that the next packets create the sessions again (a new process: new handshakes too).
swarm_run "$TOPO_STATE/swarm2.out" 3
check "second round after the idle free: all peers answered again" test $? -eq 0
check "sessions created again: $((2 * PEERS)) in all" \
  test "$(sessions_field created)" = "$((2 * PEERS))"

srv_stop
check "server exits cleanly" test "$SRV_EXIT_STATUS" -eq 0
summary
