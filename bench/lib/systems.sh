# shellcheck shell=bash disable=SC2034  # the BENCH_ variables are read by the benches
# SPDX-License-Identifier: MIT
# systems.sh: bring each benchmarked system up and down in the topology of topology.sh, one at a
# time: our VPN, wireguard-go and OpenVPN with kernel NAT in vs, and slirp4netns (libslirp with
# neither crypto nor WAN hop, the SLiRP reference).
#
# Use (as root, after topology.sh, server_env.sh and client_env.sh, topo_up and an iperf3 server
# in $INET; slirpvpn also needs srv_init, cli_init and cli_resolv_conf first):
#   bench_system_up NAME         NAME: slirpvpn | wireguard-go | openvpn | slirp4netns-MTU.
#                                Returns non-zero if the system did not come up. Sets
#                                BENCH_NS       namespace where the measuring clients run
#                                               (iperf3 -c, ping towards $INET_IP)
#                                BENCH_PROCS    "ROLE=PID ..." of the system's own processes
#                                               (roles: client, server), for CPU and memory
#   bench_system_down NAME       stop it and undo what up changed (idempotent)
#   bench_system_describe NAME   one line: what the system is, for the report
#   bench_kernel_nat_on / _off   forwarding and nft masquerade out of inet0 in $VS, and back to
#                                topology.sh's state (ip_forward=0, no table)
#
# Inside the tunnels: our VPN uses libslirp's 10.0.2.0/24 (as always); wireguard-go uses
# 10.7.0.0/24 (as client_env.sh's wgo_server_up), OpenVPN 10.8.0.0/24, slirp4netns its default
# 10.0.2.0/24 in its own namespace. These exist only inside the tunnels and namespaces; every
# veth keeps topology.sh's TEST-NET addresses. wireguard-go's control sockets live in the
# machine-wide /var/run/wireguard: interface names carry $TOPO_ID, and go into SRV_IFACES so
# srv_cleanup (srv_trap) removes the sockets on every exit.

BENCH_NS=""
BENCH_PROCS=""
BENCH_KEYS="$TOPO_STATE/bench-keys"
BENCH_WG_PORT=51821
BENCH_OVPN_PORT=1194
BENCH_WGC_IFACE="bwc$TOPO_ID"
BENCH_WGC_IFACE="${BENCH_WGC_IFACE:0:15}"
BENCH_WGS_IFACE="bws$TOPO_ID"
BENCH_WGS_IFACE="${BENCH_WGS_IFACE:0:15}"
BENCH_OVC_IFACE="boc$TOPO_ID"
BENCH_OVC_IFACE="${BENCH_OVC_IFACE:0:15}"
BENCH_OVS_IFACE="bos$TOPO_ID"
BENCH_OVS_IFACE="${BENCH_OVS_IFACE:0:15}"
BENCH_SL_NS="sl-$TOPO_ID"
BENCH_CC="${BENCH_CC:-bbr}"   # congestion control for the namespaces made here (lan.sh sets it)

bench_kernel_nat_on() {
  nsexec "$VS" sysctl -qw net.ipv4.ip_forward=1 || return 1
  nsexec "$VS" nft -f - <<NFT
table ip bench_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "inet0" masquerade
  }
}
NFT
}

bench_kernel_nat_off() {
  local -
  set +e
  ip netns exec "$VS" nft delete table ip bench_nat 2>/dev/null
  ip netns exec "$VS" sysctl -qw net.ipv4.ip_forward=0
  return 0
}

# ---------------------------------------------------------------- slirpvpn

bench_slirpvpn_up() {
  BENCH_NS="$VC"
  vpn_pair "$VS_WAN_IP:$SRV_PORT" 25 || return 1
  cli_start || return 1
  BENCH_PROCS="client=$(bg_pid client) server=$(srv_pid)"
}

bench_slirpvpn_down() {
  local -
  set +e
  cli_stop
  [[ -f "$TOPO_STATE/server.pid" ]] && srv_stop
  return 0
}

# ---------------------------------------------------------------- wireguard-go

_bench_wg_keys() {
  mkdir -p "$BENCH_KEYS"
  chmod 700 "$BENCH_KEYS"
  (umask 077 && wg genkey >"$BENCH_KEYS/wgs.key" && wg genkey >"$BENCH_KEYS/wgc.key") || return 1
  wg pubkey <"$BENCH_KEYS/wgs.key" >"$BENCH_KEYS/wgs.pub" || return 1
  wg pubkey <"$BENCH_KEYS/wgc.key" >"$BENCH_KEYS/wgc.pub"
}

# _bench_wggo NS IFACE: a wireguard-go process for IFACE in NS, ready for `wg set`.
_bench_wggo() {
  mkdir -p /var/run/wireguard
  SRV_IFACES+=("$2")
  bg "$1" "bench-$2" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$2"
  wait_for test -S "/var/run/wireguard/$2.sock" 10
}

bench_wireguard_go_up() {
  BENCH_NS="$VC"
  _bench_wg_keys || return 1
  bench_kernel_nat_on || return 1
  _bench_wggo "$VS" "$BENCH_WGS_IFACE" || return 1
  nsexec "$VS" wg set "$BENCH_WGS_IFACE" listen-port "$BENCH_WG_PORT" \
    private-key "$BENCH_KEYS/wgs.key" peer "$(cat "$BENCH_KEYS/wgc.pub")" \
    allowed-ips 10.7.0.2/32 || return 1
  nsexec "$VS" ip addr add 10.7.0.1/24 dev "$BENCH_WGS_IFACE" || return 1
  nsexec "$VS" ip link set "$BENCH_WGS_IFACE" mtu 1420 up || return 1
  _bench_wggo "$VC" "$BENCH_WGC_IFACE" || return 1
  nsexec "$VC" wg set "$BENCH_WGC_IFACE" private-key "$BENCH_KEYS/wgc.key" \
    peer "$(cat "$BENCH_KEYS/wgs.pub")" endpoint "$VS_WAN_IP:$BENCH_WG_PORT" \
    allowed-ips 0.0.0.0/0 || return 1
  nsexec "$VC" ip addr add 10.7.0.2/24 dev "$BENCH_WGC_IFACE" || return 1
  nsexec "$VC" ip link set "$BENCH_WGC_IFACE" mtu 1420 up || return 1
  # The endpoint stays on wan0's connected route, more specific than this default.
  nsexec "$VC" ip route add default dev "$BENCH_WGC_IFACE" || return 1
  BENCH_PROCS="client=$(bg_pid "bench-$BENCH_WGC_IFACE") server=$(bg_pid "bench-$BENCH_WGS_IFACE")"
}

bench_wireguard_go_down() {
  local -
  set +e
  bg_stop "bench-$BENCH_WGC_IFACE"
  bg_stop "bench-$BENCH_WGS_IFACE"
  rm -f "/var/run/wireguard/$BENCH_WGC_IFACE.sock" "/var/run/wireguard/$BENCH_WGS_IFACE.sock"
  bench_kernel_nat_off
}

# ---------------------------------------------------------------- OpenVPN

# A throw-away PKI: a CA and one server and one client certificate (ECDSA P-256). OpenVPN 2.6
# negotiates AES-256-GCM only in TLS mode; static keys (--secret) would mean CBC+HMAC.
_bench_ovpn_pki() {
  local d="$BENCH_KEYS/ovpn" role eku
  mkdir -p "$d"
  chmod 700 "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=bench-ca -keyout "$d/ca.key" -out "$d/ca.crt" >/dev/null 2>&1 || return 1
  for role in server client; do
    if [[ $role == server ]]; then eku=serverAuth; else eku=clientAuth; fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=bench-$role" -keyout "$d/$role.key" -out "$d/$role.csr" >/dev/null 2>&1 ||
      return 1
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' \
      "$eku" >"$d/$role.ext"
    openssl x509 -req -in "$d/$role.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -days 2 -extfile "$d/$role.ext" -out "$d/$role.crt" >/dev/null 2>&1 || return 1
  done
}

bench_openvpn_up() {
  local d="$BENCH_KEYS/ovpn"
  BENCH_NS="$VC"
  _bench_ovpn_pki || return 1
  bench_kernel_nat_on || return 1
  # Point-to-point TLS mode; --disable-dco: the data channel stays in user space (the kernel
  # module is not there anyway), like the other user-space systems here.
  bg "$VS" bench-openvpn-server openvpn --dev "$BENCH_OVS_IFACE" --dev-type tun --proto udp \
    --local "$VS_WAN_IP" --lport "$BENCH_OVPN_PORT" --ifconfig 10.8.0.1 10.8.0.2 \
    --tls-server --dh none --ca "$d/ca.crt" --cert "$d/server.crt" --key "$d/server.key" \
    --data-ciphers AES-256-GCM --disable-dco --verb 3
  wait_udp_listen "$VS" "$BENCH_OVPN_PORT" 10 || return 1
  bg "$VC" bench-openvpn-client openvpn --dev "$BENCH_OVC_IFACE" --dev-type tun --proto udp \
    --remote "$VS_WAN_IP" "$BENCH_OVPN_PORT" --nobind --ifconfig 10.8.0.2 10.8.0.1 \
    --tls-client --remote-cert-tls server --ca "$d/ca.crt" --cert "$d/client.crt" \
    --key "$d/client.key" --data-ciphers AES-256-GCM --disable-dco --verb 3
  wait_for "grep -q 'Initialization Sequence Completed' '$TOPO_STATE/bench-openvpn-client.log'" \
    20 || return 1
  grep -q "Data Channel: cipher 'AES-256-GCM'" "$TOPO_STATE/bench-openvpn-client.log" || {
    bench_log "openvpn did not negotiate AES-256-GCM"
    return 1
  }
  nsexec "$VC" ip route add default dev "$BENCH_OVC_IFACE" || return 1
  BENCH_PROCS="client=$(bg_pid bench-openvpn-client) server=$(bg_pid bench-openvpn-server)"
}

bench_openvpn_down() {
  local -
  set +e
  bg_stop bench-openvpn-client
  bg_stop bench-openvpn-server
  bench_kernel_nat_off
}

# ---------------------------------------------------------------- slirp4netns

# bench_slirp4netns_up MTU: namespace $BENCH_SL_NS whose only link is slirp4netns's tap0;
# slirp4netns runs in vs, so libslirp's sockets are vs's and reach inet like our server's.
bench_slirp4netns_up() {
  local mtu="$1"
  BENCH_NS="$BENCH_SL_NS"
  # topology.sh's own helper: the namespace is listed for topo_down, which deletes it.
  _topo_add_ns "$BENCH_SL_NS"
  bench_set_cc "$BENCH_CC" "$BENCH_SL_NS" || return 1
  bg "$VS" bench-slirp4netns slirp4netns --configure --mtu="$mtu" --disable-host-loopback \
    --netns-type=path "/run/netns/$BENCH_SL_NS" tap0
  wait_for "ip -n '$BENCH_SL_NS' -4 addr show dev tap0 | grep -q inet" 10 || return 1
  wait_for "ip -n '$BENCH_SL_NS' route show default | grep -q tap0" 5 || return 1
  BENCH_PROCS="server=$(bg_pid bench-slirp4netns)"
}

bench_slirp4netns_down() {
  local pid
  local -
  set +e
  bg_stop bench-slirp4netns
  if ip netns list | awk '{print $1}' | grep -qx "$BENCH_SL_NS"; then
    for pid in $(ip netns pids "$BENCH_SL_NS" 2>/dev/null); do
      _topo_kill "$pid" "$(_topo_starttime "$pid")"
    done
    ip netns del "$BENCH_SL_NS"
  fi
  return 0
}

# ---------------------------------------------------------------- dispatch

bench_system_up() {
  BENCH_NS=""
  BENCH_PROCS=""
  case "$1" in
    slirpvpn) bench_slirpvpn_up ;;
    wireguard-go) bench_wireguard_go_up ;;
    openvpn) bench_openvpn_up ;;
    slirp4netns-[0-9]*) bench_slirp4netns_up "${1#slirp4netns-}" ;;
    *)
      bench_log "unknown system '$1'"
      return 1
      ;;
  esac
}

bench_system_down() {
  case "$1" in
    slirpvpn) bench_slirpvpn_down ;;
    wireguard-go) bench_wireguard_go_down ;;
    openvpn) bench_openvpn_down ;;
    slirp4netns-[0-9]*) bench_slirp4netns_down ;;
  esac
  return 0
}

bench_system_describe() {
  case "$1" in
    slirpvpn) echo "our client (TUN, MTU 1420) in vc -> UDP -> our server in vs (unprivileged, nobody) -> libslirp sockets in vs -> inet" ;;
    wireguard-go) echo "wireguard-go in vc and vs (TUN, MTU 1420), UDP over the WAN, kernel forwarding + nft masquerade in vs" ;;
    openvpn) echo "OpenVPN p2p TLS (ECDSA P-256 PKI made with openssl), UDP, AES-256-GCM, user-space data channel (--disable-dco), tun MTU 1500, kernel forwarding + nft masquerade in vs" ;;
    slirp4netns-*) echo "no VPN, no crypto, no WAN hop: netns sl -> tap0 (MTU ${1#slirp4netns-}) -> slirp4netns in vs (libslirp) -> sockets in vs -> inet" ;;
  esac
}
