#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-peer flow limits and the process's fd reserve (issue 8): a malicious authenticated peer
# opens TCP and UDP flows as fast as it can while an honest peer downloads.
#
#   $VC  wan0 198.51.100.2/24   <=> $VS wan0 198.51.100.1/24     attacker (wireguard-go)
#   $VC2 wan0 198.51.100.130/30 <=> $VS wan2 198.51.100.129/30   honest peer (wireguard-go)
#   $VS  slirpvpn server as nobody, UDP 51820, RLIMIT_NOFILE set by the test (prlimit)
#   $INET 203.0.113.2: HTTP (the 2 MB blob), a TCP sink on :9000 that accepts and holds every
#         connection, a UDP sink on :9001
#
# The attacker (a Python script, bounded: at most 10 s, 700 TCP + 700 UDP sockets open at a
# time, 20000 attempts) opens TCP connections to inet:9000 and UDP flows (one new source port
# each) to inet:9001, replacing every refused one, as fast as it can.
#
# Test that:
#   A. with every limit off, the attack opens far more flows than phase B allows (the block
#      below matters), nothing is refused;
#   B. with MaxTcpFlows 60, MaxUdpFlows 100, MaxHostSockets 150 for the attacker, the attacker
#      holds at most 60 TCP flows and 150 host sockets, its refusals are counted by reason (stats and
#      `slirpvpn show`) and logged at most once per 10 s per reason, the server's fd count stays
#      below RLIMIT_NOFILE - FdReserve, and the honest peer's concurrent 2 MB download arrives
#      intact with no refusal of its own;
#   C. with the attacker's limits off and RLIMIT_NOFILE 400, the fd reserve stops it: the fd
#      count never passes 400 - 64, limit_fd_reserve is counted, and the control socket
#      (`slirpvpn show`) still answers during the attack.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"

NOFILE=400
RESERVE=64
BUDGET=$((NOFILE - RESERVE))
srv_second_client

FLOOD="$TOPO_STATE/flow_flood.py"
cat >"$FLOOD" <<'PY'
# flow_flood.py serve ADDR TCP_PORT UDP_PORT | attack ADDR TCP_PORT UDP_PORT SECONDS CAP
import errno, resource, selectors, socket, sys, time

_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
mode, addr, tcp_port, udp_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

if mode == "serve":  # accept and hold every connection, discard every datagram
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((addr, tcp_port))
    listener.listen(4096)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((addr, udp_port))
    held = []
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(sink, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                if len(held) < 5000:
                    held.append(conn)
                else:
                    conn.close()
            else:
                sink.recv(2048)

seconds, cap = float(sys.argv[5]), int(sys.argv[6])
deadline = time.monotonic() + seconds
tcp, udp = [], []
attempts = tcp_refused = udp_refused = tcp_connected = 0
max_tcp_open = max_udp_open = 0
next_sweep = 0.0
while time.monotonic() < deadline and attempts < 20000:
    for _ in range(20):
        if len(tcp) < cap:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((addr, tcp_port))
            tcp.append([s, False])
            attempts += 1
        if len(udp) < cap:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setblocking(False)
            u.connect((addr, udp_port))  # errors (ICMP) are reported on a connected socket
            try:
                u.send(b"x")
            except OSError:
                pass
            udp.append(u)
            attempts += 1
    now = time.monotonic()
    if now < next_sweep:
        time.sleep(0.002)
        continue
    next_sweep = now + 0.1
    keep = []
    for entry in tcp:
        s, done = entry
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            tcp_refused += 1
            s.close()
            continue
        if not done:
            try:
                s.getpeername()
                entry[1] = True
                tcp_connected += 1
            except OSError:
                pass
        keep.append(entry)
    tcp = keep
    keep = []
    for u in udp:
        try:
            u.recv(16)
            keep.append(u)
        except BlockingIOError:
            keep.append(u)
        except OSError:
            udp_refused += 1
            u.close()
    udp = keep
    max_tcp_open = max(max_tcp_open, sum(1 for _, d in tcp if d))
    max_udp_open = max(max_udp_open, len(udp))
print(f"attempts={attempts} tcp_connected={tcp_connected} tcp_refused={tcp_refused} "
      f"udp_refused={udp_refused} tcp_open={sum(1 for _, d in tcp if d)} udp_open={len(udp)}",
      flush=True)
PY

ATTACKER=$(srv_key attacker)
HONEST=$(srv_key honest)
bg "$INET" flood-sink "$TOPO_PYTHON" "$FLOOD" serve "$INET_IP" 9000 9001
wait_tcp_listen "$INET" "$INET_IP" 9000 || die "the TCP sink did not start"

# flood_server CONFIG_BODY [NOFILE]: (re)starts the server with [Peer]s and an fd limit.
flood_server() {
  local body="$1" nofile="${2:-}"
  srv_write_conf "$body"
  if [[ -n "$nofile" ]]; then
    bg "$VS" server prlimit --nofile="$nofile:$nofile" setpriv --reuid=nobody --regid=nogroup \
      --clear-groups --inh-caps=-all --no-new-privs "$SLIRPVPN" server -c "$SRV_DIR/server.conf" \
      --uapi-socket "$SRV_DIR/uapi.sock" --log-level info
    wait_for "grep -q 'server: listening on udp port $SRV_PORT' '$TOPO_STATE/server.log'" 10 ||
      return 1
    wait_udp_listen "$VS" "$SRV_PORT" 5
  else
    srv_start --log-level info
  fi
}

# sample_fds OUT: the server's open fds every 0.1 s, the highest into OUT, until killed.
sample_fds() {
  local pid out="$1" max=0 n
  pid=$(srv_pid) || return 1
  while [[ -d /proc/$pid ]]; do
    n=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    ((n > max)) && max=$n && echo "$max" >"$out"
    sleep 0.1
  done
}

# attack PHASE: the flood from the attacker for 10 s while the server's fds are sampled.
attack() {
  local phase="$1" sampler
  echo 0 >"$TOPO_STATE/fds-$phase"
  sample_fds "$TOPO_STATE/fds-$phase" &
  sampler=$!
  nsexec "$VC" timeout 30 "$TOPO_PYTHON" "$FLOOD" attack "$INET_IP" 9000 9001 10 700 \
    >"$TOPO_STATE/attack-$phase.out" 2>&1
  echo "    attack $phase: $(cat "$TOPO_STATE/attack-$phase.out")" >&2
  kill "$sampler" 2>/dev/null
  wait "$sampler" 2>/dev/null
  echo "    attack $phase: the server's highest fd count: $(cat "$TOPO_STATE/fds-$phase")" >&2
}

# clients_up: (re)starts both wireguard-go clients (a restarted server knows no session: a fresh
# client handshakes on its first packet instead of after 15 s of silence) and waits for traffic.
clients_up() {
  local iface
  for iface in "wga$$" "wgh$$"; do bg_stop "wggo-$iface"; done
  wait_for "! ip netns exec '$VC' ip link show wga$$ && ! ip netns exec '$VC2' ip link show wgh$$" 5 ||
    return 1
  wgc_up "$VC" "wga$$" attacker || return 1
  wgc_up "$VC2" "wgh$$" honest "" "198.51.100.129:$SRV_PORT" || return 1
  wait_for "ip netns exec '$VC' ping -c 1 -W 1 '$INET_IP'" 15 || return 1
  wait_for "ip netns exec '$VC2' ping -c 1 -W 1 '$INET_IP'" 15
}

peers_body() {  # peers_body ATTACKER_EXTRA
  printf '[Peer]\nName = attacker\nPublicKey = %s\n%s\n\n[Peer]\nName = honest\nPublicKey = %s\n' \
    "$ATTACKER" "$1" "$HONEST"
}

# ------------------------------------------------------------------------------------------
# Test that without limits the attack opens many more flows than phase B's limits allow.
unlimited="MaxTcpFlows = 0
MaxUdpFlows = 0
MaxHostSockets = unlimited
MaxNewFlowsPerSecond = 0"
flood_server "$(peers_body "$unlimited")" || die "the server did not start (phase A)"
check "both clients reach inet through the server" clients_up
attack A
stats=$(srv_stats)
printf '%s\n' "$stats" | sed 's/^/    /'
sockets_a=$(srv_peer_field "$stats" "$ATTACKER" host_sockets)
refused_a=$(srv_peer_field "$stats" "$ATTACKER" flows_refused)
check "A: without limits the attacker holds $sockets_a host sockets (> 300)" test "${sockets_a:-0}" -gt 300
check "A: nothing refused ($refused_a)" test "${refused_a:-1}" -eq 0
check "A: the server's fds ($(cat "$TOPO_STATE/fds-A")) went past phase C's budget $BUDGET" \
  test "$(cat "$TOPO_STATE/fds-A")" -gt "$BUDGET"
srv_stop

# ------------------------------------------------------------------------------------------
# Test that per-peer limits hold the attacker and leave the honest peer undisturbed.
limited="MaxTcpFlows = 60
MaxUdpFlows = 100
MaxHostSockets = 150"
flood_server "$(printf 'FdReserve = %s\n%s' "$RESERVE" "$(peers_body "$limited")")" "$NOFILE" ||
  die "the server did not start (phase B)"
clients_up || die "the clients did not come up (phase B)"
nsexec "$VC2" bash -c "sleep 2; exec curl -sS --max-time 60 -o '$TOPO_STATE/blob-B.bin' http://example.test/blob.bin" \
  >"$TOPO_STATE/curl-B.out" 2>&1 &
curl_pid=$!
attack B
wait "$curl_pid"
curl_rc=$?
stats=$(srv_stats)
printf '%s\n' "$stats" | sed 's/^/    /'
sockets_b=$(srv_peer_field "$stats" "$ATTACKER" host_sockets)
check "B: the attacker holds $sockets_b host sockets (<= 150)" test "${sockets_b:-999}" -le 150
tcp_b=$(srv_peer_field "$stats" "$ATTACKER" tcp_flows)
check "B: the attacker holds $tcp_b TCP flows (<= 60)" test "${tcp_b:-999}" -le 60
check "B: the attacker's flows were refused ($(srv_peer_field "$stats" "$ATTACKER" flows_refused))" \
  test "$(srv_peer_field "$stats" "$ATTACKER" flows_refused)" -gt 0
for reason in limit_tcp_flows limit_host_sockets; do
  check "B: stats count $reason ($(srv_drop_count "$stats" "slirp_$reason"))" \
    test "$(srv_drop_count "$stats" "slirp_$reason")" -gt 0
done
check "B: refused TCP connects reached the attacker (RST)" \
  grep -Eq 'tcp_refused=[1-9]' "$TOPO_STATE/attack-B.out"
check "B: the server's fds ($(cat "$TOPO_STATE/fds-B")) stayed within $NOFILE - $RESERVE" \
  test "$(cat "$TOPO_STATE/fds-B")" -le "$BUDGET"
sha=$(sha256sum "$TOPO_STATE/blob-B.bin" 2>/dev/null | awk '{print $1}')
check "B: the honest peer's 2 MB download during the attack is intact (curl exit $curl_rc)" \
  test "$sha" = "$TOPO_BLOB_SHA256"
check "B: no flow of the honest peer was refused" \
  test "$(srv_peer_field "$stats" "$HONEST" flows_refused)" = 0
show=$("$SLIRPVPN" show --socket "$SRV_DIR/uapi.sock" --json)
check "B: slirpvpn show counts the attacker's refusals by reason" \
  "$TOPO_PYTHON" -c '
import json, sys
data = json.loads(sys.argv[1])
peer = next(p for p in data["peers"] if p.get("name") == "attacker")
assert peer["drops"].get("limit_tcp_flows", 0) > 0, peer
assert peer["host_sockets"] <= 150, peer
' "$show"
lines=$(grep -c "peer attacker: refused .* limit tcp_flows" "$TOPO_STATE/server.log")
check "B: tcp_flows refusals logged, at most once per 10 s ($lines lines)" \
  test "$lines" -ge 1 -a "$lines" -le 3
srv_stop

# ------------------------------------------------------------------------------------------
# Test that the process-wide reserve stops an unlimited peer and keeps the control socket up.
flood_server "$(printf 'FdReserve = %s\n%s' "$RESERVE" "$(peers_body "$unlimited")")" "$NOFILE" ||
  die "the server did not start (phase C)"
clients_up || die "the clients did not come up (phase C)"
(sleep 6; "$SLIRPVPN" show --socket "$SRV_DIR/uapi.sock" >"$TOPO_STATE/show-C.out" 2>&1; echo $? >"$TOPO_STATE/show-C.rc") &
show_pid=$!
attack C
wait "$show_pid"
stats=$(srv_stats)
printf '%s\n' "$stats" | sed 's/^/    /'
check "C: limit_fd_reserve counted ($(srv_drop_count "$stats" slirp_limit_fd_reserve))" \
  test "$(srv_drop_count "$stats" slirp_limit_fd_reserve)" -gt 0
# The reserve is there for the control socket: the `show` connection may take one of it.
check "C: the server's fds ($(cat "$TOPO_STATE/fds-C")) stayed within $NOFILE - $RESERVE (+2 for show)" \
  test "$(cat "$TOPO_STATE/fds-C")" -le "$((BUDGET + 2))"
check "C: slirpvpn show answered during the attack" \
  bash -c "test \"\$(cat '$TOPO_STATE/show-C.rc')\" = 0 && grep -q 'peer:' '$TOPO_STATE/show-C.out'"
check "C: the server logged no EMFILE (accept/socket failures)" \
  bash -c "! grep -qi 'too many open files' '$TOPO_STATE/server.log'"
srv_stop
check "SIGTERM: exit status 0" test "$SRV_EXIT_STATUS" = 0
summary
