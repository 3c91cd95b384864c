#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The server as dist/systemd/slirpvpn-server@.service runs it, without systemd as PID 1: the
# unit files verified by systemd-analyze, then the binary started as that unit would start it.
#
#   $VC: wireguard-go wgv$$       $VS: slirpvpn server as nobody (setpriv: no capabilities,
#                                      no new privileges, no groups), config root-owned and
#                                      read-only to it, key in $CREDENTIALS_DIRECTORY, socket in
#                                      $RUNTIME_DIRECTORY linked into /var/run/wireguard
#
# Test that: the three units pass `systemd-analyze verify`; the server refuses a world-readable
# key file with a clear message; it serves a client with the unit's layout (credential key,
# runtime-dir socket linked as the unit's ExecStartPre=+ does, `wg show` through the link);
# its log lines carry no timestamp under journald (JOURNAL_STREAM) and one otherwise.
# shellcheck source=lib/server_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
ROOT=$(cd "$HERE/../.." && pwd)
NAME=wgu$$
LINK="/var/run/wireguard/$NAME.sock"
trap 'srv_rc=$?; rm -f "$LINK"; trap - EXIT; srv_cleanup; exit $srv_rc' EXIT

# Test that the unit files verify (with the binary path of this build).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$TOPO_STATE/units"
  for unit in "$ROOT"/dist/systemd/*.service; do
    sed "s|/usr/bin/slirpvpn|$SLIRPVPN|g" "$unit" >"$TOPO_STATE/units/$(basename "$unit")"
  done
  out=$(cd "$TOPO_STATE/units" && systemd-analyze verify --man=no \
    "slirpvpn-server@$NAME.service" "slirpvpn-client@$NAME.service" \
    "slirpvpn-killswitch@$NAME.service" 2>&1)
  rc=$?
  printf '%s\n' "$out" | sed 's/^/    | /' >&2
  check "systemd-analyze verify: the units are clean" test "$rc" -eq 0 -a -z "$out"
else
  echo "SKIP systemd-analyze not installed"
fi
if [[ "$(ps -p 1 -o comm=)" == systemd ]]; then
  echo "NOTE: systemd is PID 1; systemd-analyze security slirpvpn-server@.service rates the unit"
fi

# The unit's layout: /etc/slirpvpn stand-in (root, read-only to the service), the credential
# directory (the key, owned by the service user, 0400) and the runtime directory.
ETC="$TOPO_STATE/etc-slirpvpn"
CREDS="$TOPO_STATE/credentials"
RUNTIME="$TOPO_STATE/run-slirpvpn-$NAME"
mkdir -p "$ETC" "$CREDS" "$RUNTIME"
chmod 755 "$ETC"
cp "$SRV_KEY_FILE" "$CREDS/private-key"
chown nobody:nogroup "$CREDS" "$CREDS/private-key" "$RUNTIME"
chmod 500 "$CREDS"
chmod 400 "$CREDS/private-key"
VC_PUB=$(srv_key vc)
# shellcheck disable=SC2016  # the literal $CREDENTIALS_DIRECTORY is what the file says
printf '[Interface]\nPrivateKeyFile = $CREDENTIALS_DIRECTORY/private-key\nListenPort = %s\n\n[Peer]\nPublicKey = %s\n' \
  "$SRV_PORT" "$VC_PUB" >"$ETC/$NAME.conf"
chmod 644 "$ETC/$NAME.conf"

run_unit() {  # run_unit LOGNAME [ENV...]: the ExecStart= line under the unit's restrictions
  local log=$1
  shift
  bg "$VS" "$log" env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$CREDS" \
    RUNTIME_DIRECTORY="$RUNTIME" "$@" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs \
    "$SLIRPVPN" server -c "$ETC/$NAME.conf" --name "$NAME"
}

# Test that a world-readable key is refused with a clear message.
chmod 444 "$CREDS/private-key"
run_unit refused
wait_for "! kill -0 \$(bg_pid refused) 2>/dev/null" 5
check "a world-readable key file is refused (chmod 600 named)" \
  grep -q "world accessible.*chmod 600" "$TOPO_STATE/refused.log"
chmod 400 "$CREDS/private-key"

# Test that the server serves a client as the unit runs it.
run_unit server JOURNAL_STREAM="0:0"
wait_for "grep -q 'server: listening on udp port $SRV_PORT' '$TOPO_STATE/server.log'" 10 ||
  { sed 's/^/    | /' "$TOPO_STATE/server.log" >&2; die "server did not start"; }
check "the socket is in the runtime directory, 0600, owned by the service user" \
  test "$(stat -c '%a %U' "$RUNTIME/$NAME.sock")" = "600 nobody"
mkdir -p /var/run/wireguard
ln -sfn "$RUNTIME/$NAME.sock" "$LINK"  # what ExecStartPre=+ does
wgc_up "$VC" wgv$$ vc || die "client did not come up"
check "the client reaches inet through the sandboxed server" \
  wait_for "ip netns exec '$VC' curl -sS -m 3 -o /dev/null 'http://$INET_IP/'" 10
check "wg show works through the link" \
  bash -c "wg show '$NAME' latest-handshakes | awk -v k='$VC_PUB' '\$1 == k && \$2 > 0' | grep -q ."
check "the process runs with no capabilities and NoNewPrivs" bash -c "
  grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$(bg_pid server)/status &&
  grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$(bg_pid server)/status"
check "log lines carry our timestamp when stderr is not the journal" \
  grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} .*server: listening' "$TOPO_STATE/server.log"
bg_stop server

# Test that under journald (JOURNAL_STREAM naming stderr) lines carry no timestamp of ours.
run_unit journal bash -c 'export JOURNAL_STREAM=$(stat -L -c "%d:%i" /proc/self/fd/2); exec "$@"' _
wait_for "grep -q 'server: listening' '$TOPO_STATE/journal.log'" 10
check "under journald: 'info: server: listening' without a timestamp" \
  grep -q '^info: server: listening' "$TOPO_STATE/journal.log"
bg_stop journal
summary
