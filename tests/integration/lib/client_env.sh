# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# client_env.sh: helpers for the slirpvpn client tests, on top of topology.sh: keys, a client
# config, the client run in $VC with its own state directory, and a resolv.conf of $VC's own
# (so the client rewrites /etc/netns/$VC/resolv.conf, never the machine's).
#
# Use (after `. lib/topology.sh`, topo_trap and topo_up):
#   cli_init BUILD_DIR          $SLIRPVPN, $CLI_DIR (state), $CLI_IFACE (slc$$: 15 chars max)
#   cli_key NAME                $CLI_DIR/NAME.key (mode 600); prints the public key
#   cli_resolv_conf SERVER      vc's resolv.conf: "nameserver SERVER" (removed by topo_down)
#   cli_write_conf BODY         $CLI_DIR/$CLI_IFACE.conf = BODY (mode 600)
#   cli_use_server PEER         the config for the slirpvpn server of server_env.sh as its peer
#                               PEER (key $SRV_DIR/PEER.key from srv_key): 10.0.2.15, full tunnel
#   cli_start [ARGS...]         `slirpvpn client -c $CLI_DIR/$CLI_IFACE.conf` in $VC (bg name
#                               "client"), waits for "handshake with" in the log
#   cli_stop                    SIGTERM, wait; $CLI_EXIT_STATUS holds the exit status
#   cli_log                     the client's log so far
#   cli_snapshot FILE           vc's routes, rules, nft ruleset, resolv.conf, src_valid_mark
#   wgo_server_up PEER_PUB      wireguard-go in $VS as $WGO_IFACE (10.7.0.1/24, UDP 51820, key
#                               $CLI_DIR/server.key, public key in $WGO_PUB) with kernel forwarding
#                               and masquerade out of inet0; only tests that need a stock server
#                               NAT turn forwarding on in vs. wgo_cleanup removes its socket.

CLI_DIR=""
CLI_IFACE="slc$TOPO_ID"
CLI_EXIT_STATUS=""

cli_init() {
  SLIRPVPN=$(realpath "$1/slirpvpn")
  [[ -x "$SLIRPVPN" ]] || die "no slirpvpn binary in $1"
  "$SLIRPVPN" client --help >/dev/null 2>&1 || die "$SLIRPVPN has no 'client' subcommand"
  CLI_DIR="$TOPO_STATE/client"
  mkdir -p "$CLI_DIR/run"
  CLI_IFACE="${CLI_IFACE:0:15}"
  export SLIRPVPN CLI_DIR CLI_IFACE
}

cli_key() {
  (umask 077 && "$SLIRPVPN" genkey >"$CLI_DIR/$1.key")
  "$SLIRPVPN" pubkey <"$CLI_DIR/$1.key"
}

cli_resolv_conf() {
  mkdir -p "/etc/netns/$VC"
  # The marker line lets topo_down remove the file.
  printf '# slirpvpn topology.sh %s (removed by topo_down)\nnameserver %s\n' "$TOPO_ID" "$1" \
    >"/etc/netns/$VC/resolv.conf"
  # The client must see the bind mount, or it would touch the machine's resolv.conf.
  ip netns exec "$VC" grep -q "slirpvpn topology.sh $TOPO_ID" /etc/resolv.conf ||
    die "ip netns exec does not bind-mount /etc/netns/$VC/resolv.conf"
}

cli_write_conf() {
  (umask 077 && printf '%s\n' "$1" >"$CLI_DIR/$CLI_IFACE.conf")
}

cli_use_server() {
  cp "$SRV_DIR/$1.key" "$CLI_DIR/client.key"
  cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.0.2.15/32

[Peer]
PublicKey = $SRV_PUB
Endpoint = $VS_WAN_IP:$SRV_PORT
AllowedIPs = 0.0.0.0/0"
}

cli_log() { cat "$TOPO_STATE/client.log" 2>/dev/null; }

cli_start() {
  bg "$VC" client "$SLIRPVPN" client -c "$CLI_DIR/$CLI_IFACE.conf" --state-dir "$CLI_DIR/run" "$@"
  wait_for "grep -q 'handshake with' '$TOPO_STATE/client.log'" 20 || {
    cli_log >&2
    return 1
  }
}

cli_stop() {
  local pid _
  local -
  set +e
  pid=$(bg_pid client) || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    [[ -d "/proc/$pid" ]] || break
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  CLI_EXIT_STATUS=$?
  rm -f "$TOPO_STATE/client.pid"
}

cli_snapshot() {
  {
    echo "## ip route"; ip -n "$VC" route show table all
    echo "## ip -6 route"; ip -n "$VC" -6 route show table all
    echo "## ip rule"; ip -n "$VC" rule
    echo "## ip -6 rule"; ip -n "$VC" -6 rule
    echo "## nft"; ip netns exec "$VC" nft list ruleset
    echo "## resolv.conf"; ip netns exec "$VC" cat /etc/resolv.conf
    echo "## src_valid_mark"; ip netns exec "$VC" cat /proc/sys/net/ipv4/conf/all/src_valid_mark
  } >"$1" 2>&1
}

WGO_IFACE="wgs$TOPO_ID"
WGO_IFACE="${WGO_IFACE:0:15}"
WGO_PUB=""

wgo_cleanup() { rm -f "/var/run/wireguard/$WGO_IFACE.sock"; }

wgo_server_up() {
  local peer_pub="$1"
  nsexec "$VS" sysctl -qw net.ipv4.ip_forward=1
  nsexec "$VS" nft -f - <<NFT || die "nft masquerade in $VS failed"
table ip wgnat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "inet0" masquerade
  }
}
NFT
  WGO_PUB=$(cli_key server)
  mkdir -p /var/run/wireguard
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 bg "$VS" wireguard-go wireguard-go -f "$WGO_IFACE"
  wait_for test -S "/var/run/wireguard/$WGO_IFACE.sock" || die "wireguard-go did not start"
  nsexec "$VS" wg set "$WGO_IFACE" private-key "$CLI_DIR/server.key" listen-port 51820 \
    peer "$peer_pub" allowed-ips 10.7.0.2/32
  nsexec "$VS" ip addr add 10.7.0.1/24 dev "$WGO_IFACE"
  nsexec "$VS" ip link set "$WGO_IFACE" up
}

# vpn_pair ENDPOINT KEEPALIVE: our server (srv_start: unprivileged) with one peer "vc", and our
# client's configuration for it: full tunnel, DNS 10.0.2.3, the server at ENDPOINT (host:port).
# Needs server_env.sh, srv_init and cli_init; sets $CLI_PUB.
vpn_pair() {
  local endpoint="$1" keepalive="$2"
  CLI_PUB=$(srv_key vc)
  cp "$SRV_DIR/vc.key" "$CLI_DIR/client.key"
  srv_write_conf "[Peer]
Name = vc
PublicKey = $CLI_PUB"
  srv_start || die "the server did not start"
  cli_write_conf "[Interface]
PrivateKeyFile = client.key
Address = 10.0.2.15/32
DNS = 10.0.2.3

[Peer]
PublicKey = $SRV_PUB
Endpoint = $endpoint
AllowedIPs = 0.0.0.0/0
PersistentKeepalive = $keepalive"
}
