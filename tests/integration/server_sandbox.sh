#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The slirpvpn server's sandbox, verified from outside: seccomp filter mode, no_new_privs, no
# capabilities, no core dumps, not dumpable; and the tunnel, DNS, HTTPS and `wg show` still work
# through it. A run with --no-sandbox shows the checks can fail.
#
#   $VC                          $VS                                   $INET
#  +------------------------+   +----------------------------------+  +----------------------+
#  | wgc$$ (wireguard-go)   |   | slirpvpn server, uid nobody,     |  | 203.0.113.2          |
#  |  10.0.2.15/32          |   |  sandboxed (seccomp, no caps)    |  | dnsmasq example.test |
#  |  resolv: 10.0.2.3      |   |  control socket wgsb$$           |  | HTTPS blob.bin       |
#  | wan0 198.51.100.2/24   |<=>| wan0 198.51.100.1 inet0 .113.1   |<=>|                      |
#  +------------------------+   +----------------------------------+  +----------------------+
#
# Test that: the running server's /proc status reads Seccomp 2, NoNewPrivs 1, empty effective,
# permitted, inheritable and ambient capability sets (for each of its two threads), core file
# size 0 and root-owned /proc files (not dumpable); ping, DNS via 10.0.2.3, an HTTPS download
# (sha256), a ForwardPort, `wg show` and `wg set` over the control socket and SIGUSR1 stats work
# under the filter; SIGTERM exits 0 and removes the control socket; with --no-sandbox the status
# reads Seccomp 0.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
NAME=wgsb$$
SOCKET="$SRV_DIR/uapi.sock"  # srv_start's --uapi-socket
LINK="/var/run/wireguard/$NAME.sock"
trap 'srv_rc=$?; rm -f "$LINK"; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT

VC_PUB=$(srv_key vc)
srv_write_conf "[Peer]
Name = vc
PublicKey = $VC_PUB
ForwardPort = tcp:8080:80"

# proc_field PID NAME: the value of "NAME:" in /proc/PID/status.
proc_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"; }
# core_limit PID: soft and hard "Max core file size" from /proc/PID/limits.
core_limit() { awk '/^Max core file size/ { print $5, $6; exit }' "/proc/$1/limits"; }

srv_start --name "$NAME" || die "the server did not start (log above)"
mkdir -p /var/run/wireguard
ln -sf "$SOCKET" "$LINK"
PID=$(srv_pid)
grep 'sandbox' "$TOPO_STATE/server.log" | sed 's/^/    /'
grep -E '^(Seccomp|NoNewPrivs|Cap[A-Za-z]+):' "/proc/$PID/status" | sed 's/^/    /'
echo "    core: $(core_limit "$PID"), /proc/$PID owner: $(stat -c %U "/proc/$PID/status")"

# Test that the sandbox is in place, as the kernel reports it.
check "log: sandbox line with the rule count" \
  grep -qE 'server: sandbox: seccomp filter with [1-9][0-9]* rules, no capabilities, no new privileges' \
  "$TOPO_STATE/server.log"
check "Seccomp: 2 (filter mode)" test "$(proc_field "$PID" Seccomp)" = 2
check "NoNewPrivs: 1" test "$(proc_field "$PID" NoNewPrivs)" = 1
for set in CapEff CapPrm CapInh CapAmb; do
  check "$set: 0000000000000000" test "$(proc_field "$PID" $set)" = 0000000000000000
done
# Each thread has its own capabilities and filter: the slirp thread must be locked down as well.
TASKS=$(ls "/proc/$PID/task")
check "two threads (network and slirp)" test "$(echo "$TASKS" | wc -w)" = 2
for tid in $TASKS; do
  for field in Seccomp:2 NoNewPrivs:1 CapEff:0000000000000000 CapPrm:0000000000000000 \
    CapAmb:0000000000000000; do
    check "thread $tid: ${field%%:*} ${field#*:}" \
      test "$(proc_field "$PID/task/$tid" "${field%%:*}")" = "${field#*:}"
  done
done
check "Max core file size 0 (soft and hard)" test "$(core_limit "$PID")" = "0 0"
check "not dumpable: /proc/PID files owned by root although the server runs as nobody" \
  bash -c "[ \"\$(stat -c %U /proc/$PID/status)\" = root ] && [ \"\$(ps -o user= -p $PID)\" = nobody ]"

wgc_up "$VC" "wgc$$" vc || die "wireguard-go did not come up"

# Test that the tunnel works through the filter: ICMP (ping sockets), DNS, HTTPS, a ForwardPort.
check "ping inet through the tunnel" nsexec "$VC" ping -c 3 -i 0.3 -W 5 "$INET_IP"
check "ping gateway 10.0.2.2" nsexec "$VC" ping -c 2 -i 0.3 -W 3 10.0.2.2
check "dig @10.0.2.3 example.test" \
  bash -c "ip netns exec '$VC' dig +short +time=3 +tries=2 @10.0.2.3 example.test | grep -qx '$INET_IP'"
https_sha=$(ip netns exec "$VC" curl -sS --max-time 60 --cacert "$TOPO_CA_FILE" \
  "https://inet.test/blob.bin" | sha256sum | awk '{print $1}')
check "HTTPS 2 MB blob sha256 (name via 10.0.2.3)" test "$https_sha" = "$TOPO_BLOB_SHA256"
mkdir -p "$TOPO_STATE/vcweb"
echo "vc forwarded ok" >"$TOPO_STATE/vcweb/index.html"
bg "$VC" vc-web "$TOPO_PYTHON" -m http.server 80 --bind 10.0.2.15 --directory "$TOPO_STATE/vcweb"
wait_tcp_listen "$VC" 10.0.2.15 80 || die "vc web server did not start"
check "forward (accept under the filter): inet -> 203.0.113.1:8080 -> vc 10.0.2.15:80" \
  bash -c "ip netns exec '$INET' curl -sS --max-time 10 http://$VS_UP_IP:8080/ | grep -q 'vc forwarded ok'"

# Test that the control socket works under the filter: wg show, wg set.
check "wg show: the peer with a handshake" \
  bash -c "wg show '$NAME' latest-handshakes | awk -v k='$VC_PUB' '\$1 == k && \$2 > 0' | grep -q ."
check "wg set: persistent keepalive" wg set "$NAME" peer "$VC_PUB" persistent-keepalive 25
check "wg show: keepalive 25" \
  bash -c "wg show '$NAME' persistent-keepalive | awk -v k='$VC_PUB' '\$1 == k' | grep -qw 25"

# Test that SIGUSR1 stats and SIGTERM still work, and the server is still filtered afterwards.
stats=$(srv_stats)
check "SIGUSR1 stats count the downloads" \
  test "$(srv_peer_field "$stats" "$VC_PUB" tx_bytes)" -gt 2000000
check "still Seccomp: 2 after all that" test "$(proc_field "$PID" Seccomp)" = 2
srv_stop
check "SIGTERM: exit status 0 (not killed by the filter)" test "$SRV_EXIT_STATUS" = 0
check "the control socket is removed on exit (unlink allowed)" test ! -e "$SOCKET"

# Test that --no-sandbox runs unfiltered, so the checks above can fail.
srv_start --name "$NAME" --no-sandbox || die "the server did not start"
PID=$(srv_pid)
check "--no-sandbox: Seccomp: 0" test "$(proc_field "$PID" Seccomp)" = 0
check "--no-sandbox: log says so" grep -q 'running without sandbox' "$TOPO_STATE/server.log"
check "--no-sandbox: no sandbox line" bash -c "! grep -q 'server: sandbox: seccomp' '$TOPO_STATE/server.log'"
check "--no-sandbox: dumpable (/proc/PID owned by nobody)" \
  test "$(stat -c %U "/proc/$PID/status")" = nobody
srv_stop
check "--no-sandbox: SIGTERM exit status 0" test "$SRV_EXIT_STATUS" = 0

summary
