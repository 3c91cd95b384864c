# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# topology.sh: the network-namespace test harness every integration test and the demo source.
#
# Plain topology (topo_up):
#
#   $VC: VPN client host       $VS: VPN server host            $INET: "the internet"
#  +--------------------+     +-----------------------+      +----------------------------+
#  | wan0               |     | wan0                  |      |                            |
#  |  198.51.100.2/24   |<===>|  198.51.100.1/24      |      | inet0 203.0.113.2/24       |
#  | no route to inet   | WAN | inet0 203.0.113.1/24  |<====>|       169.254.169.254/32   |
#  +--------------------+ veth| ip_forward=0          | veth | dnsmasq  :53  (example.test|
#                             | no default route      |      |          and inet.test)    |
#                             | 169.254.169.254 via   |      | HTTP :80, HTTPS :443,      |
#                             |   203.0.113.2         |      | iperf3 :5201               |
#                             | resolv.conf ->        |      | metadata HTTP on           |
#                             |   203.0.113.2         |      |   169.254.169.254:80       |
#                             +-----------------------+      +----------------------------+
#
# NAT topology (topo_up_nat [UDP_PORT]): a NAT box between vc and vs. vs keeps 198.51.100.1;
# 198.51.100.0/24 is cut into /26s so the two sides of the NAT are distinct TEST-NET-2 nets:
#
#   $VC                       $NAT                                      $VS ... $INET as above
#  +---------------------+   +-------------------------------------+   +--------------------+
#  | wan0                |   | lan0 198.51.100.65/26               |   | wan0               |
#  |  198.51.100.66/26   |<=>| wan0 198.51.100.2/26                |<=>|  198.51.100.1/26   |
#  | 198.51.100.0/26     |   | ip_forward=1, nft masquerade random |   |                    |
#  |   via .65           |   | conntrack UDP timeouts 5 s          |   |                    |
#  +---------------------+   | optional: forward only UDP_PORT     |   +--------------------+
#                            +-------------------------------------+
#   vs sees every client as 198.51.100.2 (the NAT's public address), from a random port.
#
# Addresses: only 198.51.100.0/24 and 203.0.113.0/24 (plus the metadata stand-in
# 169.254.169.254, inside $INET); never 192.0.2.0/24 (the machine's own network). vs neither
# forwards nor has a default route, so nothing can leave the namespaces even by mistake: the
# only path from vc to inet is the VPN server's user-space NAT. IPv6 is disabled on the veths
# (clean captures) unless TOPO_IPV6=1 before topo_up (link-local only: no global v6 addresses).
#
# Use (as root, from bash):
#   . tests/integration/lib/topology.sh
#   topo_trap                    # trap topo_down on EXIT, INT, TERM
#   topo_up                      # or: topo_up_nat [UDP_PORT]
#   start_inet_services          # dnsmasq, HTTP, HTTPS, iperf3, metadata HTTP
#   check "vs reaches inet" nsexec "$VS" ping -c 1 -W 2 "$INET_IP"
#   summary                      # "N passed, M failed"; non-zero if any failed
#
# Names: $VC, $VS, $INET (and $NAT) carry the suffix $TOPO_ID (default: the test's $$), so
# tests can run side by side. State (PID files, logs, certificate, web roots) lives in
# $TOPO_STATE (/tmp/slirpvpn-topo.$TOPO_ID); topo_down removes it (TOPO_KEEP_LOGS=1 keeps it).
#
# Helpers (each command is echoed to stderr as "[+] NS: command", like the kernel's
# WireGuard netns.sh; TOPO_QUIET=1 silences that):
#   nsexec NS CMD...             run CMD in NS
#   bg NS NAME CMD...            start CMD in NS in the background (own session), log to
#                                $TOPO_STATE/NAME.log, PID in $TOPO_STATE/NAME.pid
#   bg_pid NAME / bg_stop NAME   its PID / stop it (TERM, then KILL after 3 s)
#   wait_udp_listen NS PORT [TIMEOUT]           poll `ss` until a UDP socket is bound to PORT
#   wait_tcp_listen NS ADDR PORT [TIMEOUT]      poll `ss` until ADDR:PORT listens
#   wait_for CMD... [TIMEOUT]    poll CMD (every 0.1 s) until it succeeds; a trailing pure
#                                number is the timeout in seconds (default 10), so a command
#                                whose last word is a number needs an explicit timeout after it.
#                                A single argument is run with eval (a pipeline, say).
#   die MSG / pass NAME / fail NAME [WHY] / check NAME CMD... / summary
#   nat_firewall PORT            in $NAT: forward only UDP to $VS_WAN_IP:PORT (and replies)
#
# The library works under a caller's `set -euo pipefail`; teardown and polling helpers switch
# errexit off for themselves only (`local -`).
#
# Every PID file stores "PID STARTTIME" (field 22 of /proc/PID/stat), so a stale file never
# makes us signal an unrelated process that reused the PID.

TOPO_ID="${TOPO_ID:-$$}"
VC="vc-$TOPO_ID"
VS="vs-$TOPO_ID"
INET="inet-$TOPO_ID"
NAT="nat-$TOPO_ID"
TOPO_STATE="${TOPO_STATE:-/tmp/slirpvpn-topo.$TOPO_ID}"

VS_WAN_IP=198.51.100.1
VS_UP_IP=203.0.113.1
INET_IP=203.0.113.2
METADATA_IP=169.254.169.254
VC_WAN_IP=198.51.100.2   # 198.51.100.66 after topo_up_nat
NAT_LAN_IP=198.51.100.65
NAT_PUBLIC_IP=198.51.100.2
TOPO_MODE=""             # plain | nat, set by topo_up / topo_up_nat

TOPO_CA_FILE="$TOPO_STATE/inet-ca.pem"   # for curl --cacert
TOPO_WWW="$TOPO_STATE/www"
TOPO_BLOB_SHA256=""                      # sha256 of $TOPO_WWW/blob.bin, set by start_inet_services

TOPO_PASSED=0
TOPO_FAILED=0

# Prefer Debian's python3 over any user-level shim on PATH.
if [[ -x /usr/bin/python3 ]]; then TOPO_PYTHON="${TOPO_PYTHON:-/usr/bin/python3}"; else
  TOPO_PYTHON="${TOPO_PYTHON:-python3}"; fi

export VC VS INET NAT TOPO_ID TOPO_STATE TOPO_CA_FILE TOPO_WWW VS_WAN_IP VS_UP_IP INET_IP \
  METADATA_IP VC_WAN_IP NAT_PUBLIC_IP

# ---------------------------------------------------------------- messages and counting

_topo_echo() {  # _topo_echo NS CMD...: print the command about to run
  [[ "${TOPO_QUIET:-0}" == 1 ]] && return 0
  local ns="$1"
  shift
  printf '[+] %s%s\n' "${ns:+$ns: }" "$*" >&2
}

die() {
  printf 'FATAL: %s\n' "$*" >&2
  exit 1
}

pass() {
  TOPO_PASSED=$((TOPO_PASSED + 1))
  printf 'PASS %s\n' "$1"
}

fail() {
  TOPO_FAILED=$((TOPO_FAILED + 1))
  printf 'FAIL %s%s\n' "$1" "${2:+ ($2)}"
}

# check NAME CMD...: PASS if CMD exits 0, else FAIL with CMD's output shown.
check() {
  local name="$1" out rc
  local -
  set +e  # also under a caller's set -e: teardown and polling must not stop halfway
  shift
  out="$(mktemp "${TMPDIR:-/tmp}/topo-check.XXXXXX")"
  if "$@" >"$out" 2>&1; then
    pass "$name"
  else
    rc=$?
    fail "$name" "exit $rc"
    sed 's/^/    | /' "$out" | tail -n 20
  fi
  rm -f "$out"
}

# summary: "N passed, M failed" alone on a line; non-zero when anything failed or nothing ran.
summary() {
  printf '%d passed, %d failed\n' "$TOPO_PASSED" "$TOPO_FAILED"
  ((TOPO_FAILED == 0 && TOPO_PASSED > 0))
}

# ---------------------------------------------------------------- running things

nsexec() {
  local ns="$1"
  shift
  _topo_echo "$ns" "$*"
  ip netns exec "$ns" "$@"
}

_topo_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }

# bg NS NAME CMD...: CMD runs in its own session (so its whole process group can be stopped)
# with stdin from /dev/null and stdout+stderr in $TOPO_STATE/NAME.log.
bg() {
  local ns="$1" name="$2" pid
  shift 2
  [[ -n "$name" && "$name" != */* ]] || die "bg: bad name '$name'"
  mkdir -p "$TOPO_STATE"
  _topo_echo "$ns" "$* > $TOPO_STATE/$name.log 2>&1 &"
  # A background job of a non-interactive shell is no group leader, so setsid(1) calls
  # setsid() itself and execs: $! stays the PID of CMD (ip netns exec execs it too).
  setsid ip netns exec "$ns" "$@" >"$TOPO_STATE/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid $(_topo_starttime "$pid")" >"$TOPO_STATE/$name.pid"
}

bg_pid() {
  local f="$TOPO_STATE/$1.pid" pid _st
  [[ -f "$f" ]] || return 1
  read -r pid _st <"$f"
  echo "$pid"
}

# _topo_kill PID [STARTTIME]: TERM the process group led by PID (bg made it a session
# leader) and PID itself, wait up to 3 s, then KILL. No-op if it is gone or the PID was reused.
_topo_kill() {
  local pid="$1" st="${2:-}" _
  local -
  set +e  # also under a caller's set -e: teardown and polling must not stop halfway
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 0
  if [[ -n "$st" && "$(_topo_starttime "$pid")" != "$st" ]]; then return 0; fi
  kill -TERM -- "-$pid" 2>/dev/null
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 30); do
    [[ -d "/proc/$pid" ]] || return 0
    # A zombie child of ours is gone for every purpose but the wait.
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

bg_stop() {
  local f="$TOPO_STATE/$1.pid" pid st
  local -
  set +e  # also under a caller's set -e: teardown and polling must not stop halfway
  [[ -f "$f" ]] || return 0
  read -r pid st <"$f" || true
  _topo_kill "$pid" "$st"
  rm -f "$f"
}

# ---------------------------------------------------------------- readiness

_topo_is_number() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# wait_for CMD... [TIMEOUT]
wait_for() {
  local timeout=10 deadline
  local -
  set +e  # also under a caller's set -e: teardown and polling must not stop halfway
  if (($# >= 2)) && _topo_is_number "${!#}"; then
    timeout="${!#}"
    set -- "${@:1:$#-1}"
  fi
  _topo_echo "" "wait_for (${timeout}s): $*"
  # %.0f, not %d: Debian's mawk clamps %d to 2^31 - 1, which made every timeout ~2.1 s.
  deadline=$(($(date +%s%N) + $(awk -v t="$timeout" 'BEGIN { printf "%.0f", t * 1e9 }')))
  while :; do
    if (($# == 1)); then
      if eval "$1" >/dev/null 2>&1; then return 0; fi
    elif "$@" >/dev/null 2>&1; then
      return 0
    fi
    (($(date +%s%N) >= deadline)) && break
    sleep 0.1
  done
  printf 'wait_for: timed out after %ss: %s\n' "$timeout" "$*" >&2
  return 1
}

# wait_udp_listen NS PORT [TIMEOUT]
wait_udp_listen() {
  local ns="$1" port="$2" timeout="${3:-10}"
  wait_for "ip netns exec '$ns' ss -Hulnp 'sport = :$port' | grep -q ." "$timeout"
}

# wait_tcp_listen NS ADDR PORT [TIMEOUT]
wait_tcp_listen() {
  local ns="$1" addr="$2" port="$3" timeout="${4:-10}"
  wait_for "ip netns exec '$ns' ss -Htln 'src $addr and sport = :$port' | grep -q ." "$timeout"
}

# ---------------------------------------------------------------- building the network

_topo_add_ns() {
  local ns="$1"
  if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
    die "namespace $ns exists already (another run with TOPO_ID=$TOPO_ID?)"
  fi
  _topo_echo "" "ip netns add $ns"
  ip netns add "$ns" || die "ip netns add $ns failed"
  echo "$ns" >>"$TOPO_STATE/namespaces"
  ip -n "$ns" link set lo up
  if [[ "${TOPO_IPV6:-0}" != 1 ]]; then
    # Before the veths exist: "default" is what new interfaces inherit; lo keeps ::1.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  fi
}

# _topo_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces.
_topo_veth() {
  _topo_echo "" "ip link add $2 netns $1 type veth peer name $4 netns $3"
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || die "veth $1/$2 failed"
}

# _topo_addr NS IF ADDR/LEN: address the interface and bring it up.
_topo_addr() {
  _topo_echo "$1" "ip addr add $3 dev $2"
  ip -n "$1" addr add "$3" dev "$2" || die "ip addr add $3 in $1 failed"
  ip -n "$1" link set "$2" up
}

_topo_prepare() {
  [[ "$(id -u)" == 0 ]] || die "the topology needs root (ip netns, veth)"
  [[ -z "$TOPO_MODE" ]] || die "the topology is up already ($TOPO_MODE)"
  mkdir -p "$TOPO_STATE"
  : >>"$TOPO_STATE/namespaces"
}

# vs's WAN address (prefix $1), the uplink to inet, the metadata stand-in, vs's resolver.
_topo_server_side() {
  _topo_addr "$VS" wan0 "$VS_WAN_IP/$1"
  _topo_veth "$VS" inet0 "$INET" inet0
  _topo_addr "$VS" inet0 "$VS_UP_IP/24"
  _topo_addr "$INET" inet0 "$INET_IP/24"
  _topo_addr "$INET" inet0 "$METADATA_IP/32"
  _topo_echo "$VS" "ip route add $METADATA_IP/32 via $INET_IP"
  ip -n "$VS" route add "$METADATA_IP/32" via "$INET_IP"
  nsexec "$VS" sysctl -qw net.ipv4.ip_forward=0
  # libslirp forwards ICMP echo through unprivileged ping sockets.
  nsexec "$VS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
  # `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf.
  mkdir -p "/etc/netns/$VS"
  printf '# slirpvpn topology.sh %s (removed by topo_down)\nnameserver %s\n' "$TOPO_ID" \
    "$INET_IP" >"/etc/netns/$VS/resolv.conf"
}

topo_up() {
  _topo_prepare
  TOPO_MODE=plain
  _topo_add_ns "$VC"
  _topo_add_ns "$VS"
  _topo_add_ns "$INET"
  _topo_veth "$VC" wan0 "$VS" wan0
  VC_WAN_IP=198.51.100.2
  export VC_WAN_IP
  _topo_addr "$VC" wan0 "$VC_WAN_IP/24"
  _topo_server_side 24
}

# topo_up_nat [UDP_PORT]: with UDP_PORT, the NAT forwards only UDP to $VS_WAN_IP:UDP_PORT.
topo_up_nat() {
  local port="${1:-}"
  _topo_prepare
  TOPO_MODE=nat
  _topo_add_ns "$VC"
  _topo_add_ns "$NAT"
  _topo_add_ns "$VS"
  _topo_add_ns "$INET"
  _topo_veth "$VC" wan0 "$NAT" lan0
  _topo_veth "$NAT" wan0 "$VS" wan0
  VC_WAN_IP=198.51.100.66
  export VC_WAN_IP
  _topo_addr "$VC" wan0 "$VC_WAN_IP/26"
  _topo_echo "$VC" "ip route add 198.51.100.0/26 via $NAT_LAN_IP"
  ip -n "$VC" route add 198.51.100.0/26 via "$NAT_LAN_IP"
  _topo_addr "$NAT" lan0 "$NAT_LAN_IP/26"
  _topo_addr "$NAT" wan0 "$NAT_PUBLIC_IP/26"
  nsexec "$NAT" sysctl -qw net.ipv4.ip_forward=1
  # "random": a new mapping gets a random source port, as carrier-grade NATs do.
  nsexec "$NAT" nft -f - <<NFT || die "nft in $NAT failed"
table ip topo_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade random
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
}
NFT
  # Per-namespace conntrack settings (present once the nat rule loaded conntrack): short UDP
  # timeouts let a test watch a NAT mapping expire within seconds.
  nsexec "$NAT" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5 ||
    die "cannot set the conntrack UDP timeout in $NAT"
  nsexec "$NAT" sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=5
  [[ -z "$port" ]] || nat_firewall "$port"
  _topo_server_side 26
}

# nat_firewall PORT: $NAT forwards only UDP from the inside to $VS_WAN_IP:PORT, and what
# belongs to such flows (replies, ICMP errors).
nat_firewall() {
  local port="$1"
  [[ "$TOPO_MODE" == nat ]] || die "nat_firewall needs topo_up_nat"
  nsexec "$NAT" nft -f - <<NFT || die "nft firewall in $NAT failed"
flush chain ip topo_nat forward
table ip topo_nat {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" ip daddr $VS_WAN_IP udp dport $port accept
  }
}
NFT
}

# ---------------------------------------------------------------- services in inet

# The web root: index.html ("inet ok"), a 2 MB random blob.bin and its sha256.
_topo_make_www() {
  mkdir -p "$TOPO_WWW"
  echo "inet ok" >"$TOPO_WWW/index.html"
  head -c 2097152 /dev/urandom >"$TOPO_WWW/blob.bin"
  TOPO_BLOB_SHA256="$(sha256sum "$TOPO_WWW/blob.bin" | awk '{print $1}')"
  echo "$TOPO_BLOB_SHA256  blob.bin" >"$TOPO_WWW/blob.bin.sha256"
  export TOPO_BLOB_SHA256
}

# A self-signed certificate for inet.test and 203.0.113.2; it is its own CA ($TOPO_CA_FILE).
_topo_make_cert() {
  _topo_echo "" "openssl req -x509 ... -subj /CN=inet.test (SAN inet.test, $INET_IP)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=inet.test" -addext "subjectAltName=DNS:inet.test,IP:$INET_IP" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$TOPO_STATE/inet-key.pem" -out "$TOPO_CA_FILE" >/dev/null 2>&1 ||
    die "openssl req failed"
}

_topo_write_https_server() {
  cat >"$TOPO_STATE/https_server.py" <<'PY'
# Serves a directory over HTTPS: https_server.py ADDR PORT DIR CERT KEY
import functools, http.server, ssl, sys
addr, port, root, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer((addr, port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
}

# The stand-in cloud metadata service: what a VPN client must never be able to read.
start_metadata_service() {
  local root="$TOPO_STATE/metadata"
  mkdir -p "$root/latest/meta-data/iam/security-credentials"
  echo "i-slirpvpn-topology" >"$root/latest/meta-data/instance-id"
  echo "TOPO-METADATA-SECRET" >"$root/latest/meta-data/iam/security-credentials/role"
  bg "$INET" inet-metadata "$TOPO_PYTHON" -m http.server 80 --bind "$METADATA_IP" \
    --directory "$root"
  wait_tcp_listen "$INET" "$METADATA_IP" 80 || die "metadata service did not start"
}

start_inet_services() {
  _topo_make_www
  _topo_make_cert
  _topo_write_https_server
  bg "$INET" inet-dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --no-poll --bind-interfaces --listen-address="$INET_IP" --port=53 --user=root \
    --pid-file= --log-facility=- --log-queries \
    --address=/example.test/"$INET_IP" --address=/inet.test/"$INET_IP"
  bg "$INET" inet-http "$TOPO_PYTHON" -m http.server 80 --bind "$INET_IP" --directory "$TOPO_WWW"
  bg "$INET" inet-https "$TOPO_PYTHON" "$TOPO_STATE/https_server.py" "$INET_IP" 443 \
    "$TOPO_WWW" "$TOPO_CA_FILE" "$TOPO_STATE/inet-key.pem"
  bg "$INET" inet-iperf3 iperf3 -s -B "$INET_IP" -p 5201
  start_metadata_service
  wait_udp_listen "$INET" 53 || die "dnsmasq did not start (see $TOPO_STATE/inet-dns.log)"
  wait_tcp_listen "$INET" "$INET_IP" 80 || die "HTTP server did not start"
  wait_tcp_listen "$INET" "$INET_IP" 443 || die "HTTPS server did not start"
  wait_tcp_listen "$INET" "$INET_IP" 5201 || die "iperf3 did not start"
}

# ---------------------------------------------------------------- teardown

# topo_down: stop every process the harness started (PID files) and anything still running
# in our namespaces, delete the namespaces and the state. Safe to call any number of times.
topo_down() {
  local f pid st ns
  local -
  set +e  # also under a caller's set -e: teardown and polling must not stop halfway
  if [[ -d "$TOPO_STATE" ]]; then
    for f in "$TOPO_STATE"/*.pid; do
      [[ -f "$f" ]] || continue
      read -r pid st <"$f" || true
      _topo_kill "$pid" "$st"
      rm -f "$f"
    done
    if [[ -f "$TOPO_STATE/namespaces" ]]; then
      while read -r ns; do
        [[ -n "$ns" ]] || continue
        # Whatever a test started in its namespaces by other means (nsexec ... &).
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
          _topo_kill "$pid" "$(_topo_starttime "$pid")"
        done
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
          _topo_echo "" "ip netns del $ns"
          ip netns del "$ns"
        fi
        if [[ -f "/etc/netns/$ns/resolv.conf" ]] &&
          grep -q "^# slirpvpn topology.sh $TOPO_ID " "/etc/netns/$ns/resolv.conf"; then
          rm -f "/etc/netns/$ns/resolv.conf"
          rmdir "/etc/netns/$ns" 2>/dev/null
        fi
      done <"$TOPO_STATE/namespaces"
    fi
    rmdir /etc/netns 2>/dev/null
    if [[ "${TOPO_KEEP_LOGS:-0}" == 1 ]]; then
      printf 'topology: logs kept in %s\n' "$TOPO_STATE" >&2
    else
      rm -rf "$TOPO_STATE"
    fi
  fi
  TOPO_MODE=""
  return 0
}

# topo_trap: tear down on every way out; the script's exit status is kept.
topo_trap() {
  # shellcheck disable=SC2154  # topo_rc is assigned inside the trap string
  trap 'topo_rc=$?; trap - EXIT; topo_down; exit $topo_rc' EXIT
  trap 'topo_down; trap - EXIT; exit 130' INT
  trap 'topo_down; trap - EXIT; exit 143' TERM
}
