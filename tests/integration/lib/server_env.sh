# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# server_env.sh: helpers for the slirpvpn server tests, on top of topology.sh: keys, the server
# run unprivileged in $VS, stock wireguard-go clients, SIGUSR1 statistics.
#
# Use (after `. lib/topology.sh` and `topo_up`):
#   srv_init BUILD_DIR           binaries ($SLIRPVPN, $WGJUNK, $WANEM), state dir $SRV_DIR,
#                                server key ($SRV_KEY_FILE, $SRV_PUB); $SRV_SANITIZED=1 for
#                                an ASan/UBSan build (tests then skip timing assertions)
#   srv_trap                     topo_trap, plus removing wireguard-go's UAPI sockets
#   srv_key NAME                 a key pair: $SRV_DIR/NAME.key (mode 600), prints the public key
#   srv_write_conf BODY          $SRV_DIR/server.conf = [Interface] with our key + BODY
#   srv_start [ARGS...]          `slirpvpn server -c server.conf ARGS` in $VS as nobody
#                                (setpriv: no capabilities, no new privileges), its control
#                                socket in $SRV_DIR (the default path is per user, shared
#                                with any other server running as nobody), waits for
#                                "server: listening on udp port" and for `ss`
#   srv_stats                    SIGUSR1, waits for the new `drops:` line; prints the new
#                                stats block (stats: and drops: lines) on stdout
#   srv_drop_count BLOCK REASON  the count of REASON in a stats block's drops: line (0 if absent)
#   srv_stop                     SIGTERM, wait; $SRV_EXIT_STATUS holds the exit status
#   wgc_up NS IFACE NAME [LISTEN_PORT] [ENDPOINT] [KEEPALIVE]
#                                wireguard-go in NS as IFACE with key NAME, peer = the server
#                                (default endpoint $VS_WAN_IP:$SRV_PORT, optional persistent
#                                keepalive in seconds), full tunnel:
#                                10.0.2.15/32, default route via IFACE, resolv.conf 10.0.2.3
#
# ICMP echo through slirp uses unprivileged ping sockets: topology.sh sets
# net.ipv4.ping_group_range="0 2147483647" in $VS, which covers nobody's group (nogroup).

SRV_PORT=51820
SRV_DIR=""
SRV_IFACES=()
# shellcheck disable=SC2034  # read by the test scripts
SRV_EXIT_STATUS=""
SRV_SANITIZED=0

srv_init() {
  local build="$1"
  SLIRPVPN=$(realpath "$build/slirpvpn")
  WGJUNK=$(realpath "$build/tools/wgjunk/slirpvpn-wgjunk" 2>/dev/null || true)
  WANEM=$(realpath "$build/tools/wanem/slirpvpn-wanem" 2>/dev/null || true)
  [[ -x "$SLIRPVPN" ]] || die "no slirpvpn binary in $build"
  SRV_SANITIZED=0
  if grep -q '^SLIRPVPN_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    SRV_SANITIZED=1
  fi
  "$SLIRPVPN" server --help >/dev/null 2>&1 || die "$SLIRPVPN has no 'server' subcommand"
  SRV_DIR="$TOPO_STATE/server"
  mkdir -p "$SRV_DIR"
  # The server runs as nobody: it must read its directory, config and key files.
  chown nobody:nogroup "$SRV_DIR"
  chmod 700 "$SRV_DIR"
  chmod o+x "$TOPO_STATE"
  SRV_KEY_FILE="$SRV_DIR/server.key"
  SRV_PUB=$(srv_key server)
  export SLIRPVPN WGJUNK WANEM SRV_DIR SRV_KEY_FILE SRV_PUB SRV_SANITIZED
}

srv_key() {
  local name="$1"
  (umask 077 && "$SLIRPVPN" genkey >"$SRV_DIR/$name.key") || die "genkey failed"
  chown nobody:nogroup "$SRV_DIR/$name.key"
  "$SLIRPVPN" pubkey <"$SRV_DIR/$name.key"
}

srv_write_conf() {
  {
    # SRV_INTERFACE_EXTRA: more [Interface] lines (benchmarks compare settings with it).
    printf '[Interface]\nPrivateKeyFile = server.key\nListenPort = %s\n%s\n' "$SRV_PORT" \
      "${SRV_INTERFACE_EXTRA:-}"
    printf '%s\n' "$1"
  } >"$SRV_DIR/server.conf"
  chmod 600 "$SRV_DIR/server.conf"
  chown nobody:nogroup "$SRV_DIR/server.conf"
}

srv_start() {
  bg "$VS" server setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    --no-new-privs "$SLIRPVPN" server -c "$SRV_DIR/server.conf" \
    --uapi-socket "$SRV_DIR/uapi.sock" "$@"
  if ! wait_for "grep -q 'server: listening on udp port $SRV_PORT' '$TOPO_STATE/server.log'" 10; then
    sed 's/^/    | /' "$TOPO_STATE/server.log" | tail -n 30 >&2
    return 1
  fi
  wait_udp_listen "$VS" "$SRV_PORT" 5
}

srv_pid() { bg_pid server; }

srv_stats() {
  local log="$TOPO_STATE/server.log" before pid
  pid=$(srv_pid) || return 1
  before=$(grep -c 'drops:' "$log")
  kill -USR1 "$pid" || return 1
  wait_for "[ \$(grep -c 'drops:' '$log') -gt $before ]" 5 || return 1
  # The block: the stats: and slirp: lines printed after the previous drops: line, and the new
  # drops: line.
  awk -v n="$before" '
    /drops:/ { seen++; if (seen == n + 1) { printf "%s%s\n", block, $0; exit } block = ""; next }
    /stats: peer=|^slirp: / { block = block $0 "\n" }' "$log"
}

srv_drop_count() {
  local block="$1" reason="$2"
  printf '%s\n' "$block" | grep 'drops:' | tr ' ' '\n' | awk -F= -v r="$reason" \
    '$1 == r { print $2; found = 1 } END { if (!found) print 0 }' | head -n 1
}

# srv_peer_field BLOCK PUBKEY FIELD: e.g. rx_bytes of one peer's stats line.
srv_peer_field() {
  local block="$1" key="$2" field="$3"
  printf '%s\n' "$block" | grep -F "peer=$key " | tr ' ' '\n' | awk -F= -v f="$field" \
    '$1 == f { sub(/^[^=]*=/, ""); print; exit }'
}

srv_stop() {
  local pid
  local -
  set +e
  pid=$(srv_pid) || return 1
  kill -TERM "$pid"
  for _ in $(seq 50); do
    [[ -d /proc/$pid && "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || break
    sleep 0.1
  done
  wait "$pid"
  # shellcheck disable=SC2034  # read by the test scripts
  SRV_EXIT_STATUS=$?
  rm -f "$TOPO_STATE/server.pid"
}

wgc_up() {
  local ns="$1" iface="$2" name="$3" listen="${4:-}" endpoint="${5:-$VS_WAN_IP:$SRV_PORT}"
  local keepalive="${6:-}"
  mkdir -p /var/run/wireguard
  SRV_IFACES+=("$iface")
  bg "$ns" "wggo-$iface" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
    wireguard-go -f "$iface"
  wait_for test -S "/var/run/wireguard/$iface.sock" 10 || return 1
  nsexec "$ns" wg set "$iface" private-key "$SRV_DIR/$name.key" ${listen:+listen-port "$listen"} \
    peer "$SRV_PUB" endpoint "$endpoint" allowed-ips 0.0.0.0/0 \
    ${keepalive:+persistent-keepalive "$keepalive"} || return 1
  nsexec "$ns" ip addr add 10.0.2.15/32 dev "$iface" || return 1
  nsexec "$ns" ip link set "$iface" up || return 1
  # The endpoint stays on the WAN's connected route, more specific than this default.
  nsexec "$ns" ip route add default dev "$iface" || return 1
  mkdir -p "/etc/netns/$ns"
  # topology.sh's marker line: topo_down removes the file with the namespace.
  printf '# slirpvpn topology.sh %s (removed by topo_down)\nnameserver 10.0.2.3\n' "$TOPO_ID" \
    >"/etc/netns/$ns/resolv.conf"
}

# srv_second_client: a second client namespace, $VC2 (vc2-ID), on a link of its own to the
# server: $VC2 wan0 198.51.100.130/30 <=> $VS wan2 198.51.100.129/30. Its peers use the server
# at 198.51.100.129:$SRV_PORT. Call after topo_up; topo_down removes it.
srv_second_client() {
  VC2="vc2-$TOPO_ID"
  _topo_add_ns "$VC2"
  _topo_veth "$VC2" wan0 "$VS" wan2
  _topo_addr "$VS" wan2 198.51.100.129/30
  _topo_addr "$VC2" wan0 198.51.100.130/30
}

# srv_trap: topo_trap plus removing wireguard-go's UAPI sockets (global /var/run path).
srv_cleanup() {
  local iface
  local -
  set +e
  topo_down
  for iface in "${SRV_IFACES[@]}"; do rm -f "/var/run/wireguard/$iface.sock"; done
  return 0
}

srv_trap() {
  # shellcheck disable=SC2154  # srv_rc is assigned inside the trap string
  trap 'srv_rc=$?; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT
  trap 'srv_cleanup; trap - EXIT; exit 130' INT
  trap 'srv_cleanup; trap - EXIT; exit 143' TERM
}

# elapsed_ms CMD...: runs CMD, prints "RC MS" (its exit status and wall time in milliseconds).
elapsed_ms() {
  local start end rc
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  rc=$?
  end=$(date +%s%N)
  echo "$rc $(((end - start) / 1000000))"
}
