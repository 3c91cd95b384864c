# shellcheck shell=bash disable=SC2153  # BENCH_NS is set by systems.sh
# SPDX-License-Identifier: MIT
# measure.sh: the measurements, run from the namespace $BENCH_NS towards iperf3 and ping at
# $INET_IP, each bounded in time; every figure becomes a "SYSTEM<TAB>KEY<TAB>VALUE" row of
# $BENCH_OUT/results.tsv, which bench/lib/report.py turns into the table.
#
# Use (after common.sh and a bench_system_up that set BENCH_NS and BENCH_PROCS):
#   bench_tcp SYS DIR FLOWS RUN SECONDS   iperf3 TCP, DIR up (BENCH_NS -> inet) or down (-R),
#                                         FLOWS parallel streams (-P). Rows: tcpFLOWS_DIR (Mbit/s
#                                         the receiver counted), tcp_bytes, cpu_ROLE_s (CPU
#                                         seconds, user+sys, of each process in BENCH_PROCS
#                                         during the run) for the CPU-per-gigabyte figure
#   bench_udp SYS DIR LEN SECONDS         iperf3 UDP -b 0 -l LEN. Rows: udpLEN_DIR_pps (packets
#                                         per second received by the receiver), udpLEN_DIR_loss (%)
#   bench_ping SYS COUNT INTERVAL         ping; rows rtt_med, rtt_p99 (ms), ping_lost (count)
#   bench_memory SYS                      rows rss_ROLE_kib and hwm_ROLE_kib (VmRSS, VmHWM)
#   bench_status SYS STATUS [WHY]         row status (ok, or failed with the reason)
#
# Raw output (iperf3 JSON, ping text) stays in $BENCH_OUT for a look afterwards.

BENCH_OUT="${BENCH_OUT:-}"
BENCH_PY="${TOPO_PYTHON:-/usr/bin/python3}"
BENCH_IPERF_PORT=5201

bench_row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_OUT/results.tsv"; }

bench_status() { bench_row "$1" status "$2${3:+: $3}"; }

# _bench_ticks_all: "ROLE=TICKS ..." for BENCH_PROCS, now.
_bench_ticks_all() {
  local ent out=""
  for ent in $BENCH_PROCS; do out+=" ${ent%%=*}=$(bench_proc_ticks "${ent#*=}")"; done
  echo "$out"
}

# _bench_iperf JSON SECONDS ARGS...: one bounded iperf3 client run in BENCH_NS.
_bench_iperf() {
  local json="$1" secs="$2"
  shift 2
  # iperf3 -t bounds the transfer; timeout bounds a stalled connect or result exchange.
  timeout $((secs + 20)) ip netns exec "$BENCH_NS" iperf3 -c "$INET_IP" -p "$BENCH_IPERF_PORT" \
    -t "$secs" -J "$@" >"$json" 2>>"$BENCH_OUT/iperf3.stderr" || true
}

bench_tcp() {
  local sys="$1" dir="$2" flows="$3" run="$4" secs="$5" json before after ent role t0 a
  json="$BENCH_OUT/$sys.tcp$flows-$dir.$run.json"
  local args=(-P "$flows")
  [[ $dir == down ]] && args+=(-R)
  before=$(_bench_ticks_all)
  _bench_iperf "$json" "$secs" "${args[@]}"
  after=$(_bench_ticks_all)
  local got
  got=$("$BENCH_PY" - "$json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    r = j["end"]["sum_received"]
    print("%.1f %d" % (r["bits_per_second"] / 1e6, r["bytes"]))
except Exception as e:  # noqa: BLE001 - any malformed or missing result is a failed run
    print("ERR", str(e)[:60].replace("\t", " "))
PY
  )
  if [[ $got == ERR* ]]; then
    bench_log "  $sys TCP $flows flow(s) $dir run $run: no result (${got#ERR })"
    bench_row "$sys" "error" "tcp$flows-$dir run $run: ${got#ERR }"
    return 0
  fi
  bench_row "$sys" "tcp${flows}_$dir" "${got%% *}"
  bench_row "$sys" tcp_bytes "${got#* }"
  for ent in $before; do
    role=${ent%%=*}
    t0=${ent#*=}
    for a in $after; do
      [[ ${a%%=*} == "$role" ]] || continue
      bench_row "$sys" "cpu_${role}_s" \
        "$(awk -v a="$t0" -v b="${a#*=}" -v hz="$BENCH_CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')"
    done
  done
  bench_log "  $sys TCP $flows flow(s) $dir run $run: ${got%% *} Mbit/s"
}

bench_udp() {
  local sys="$1" dir="$2" len="$3" secs="$4" json got
  json="$BENCH_OUT/$sys.udp$len-$dir.json"
  local args=(-u -b 0 -l "$len")
  [[ $dir == down ]] && args+=(-R)
  _bench_iperf "$json" "$secs" "${args[@]}"
  got=$("$BENCH_PY" - "$json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    r = j["end"]["sum_received"]
    got = r["packets"] - r["lost_packets"]
    print("%.0f %.2f" % (got / r["seconds"], r["lost_percent"]))
except Exception as e:  # noqa: BLE001
    print("ERR", str(e)[:60].replace("\t", " "))
PY
  )
  if [[ $got == ERR* ]]; then
    bench_log "  $sys UDP $len B $dir: no result (${got#ERR })"
    bench_row "$sys" "error" "udp$len-$dir: ${got#ERR }"
    return 0
  fi
  bench_row "$sys" "udp${len}_${dir}_pps" "${got%% *}"
  bench_row "$sys" "udp${len}_${dir}_loss" "${got#* }"
  bench_log "  $sys UDP $len B $dir: ${got%% *} packets/s received, ${got#* } % lost"
}

bench_ping() {
  local sys="$1" count="$2" interval="$3" txt got deadline med p99 lost
  txt="$BENCH_OUT/$sys.ping.txt"
  # -w: a hard deadline a little above count x interval, whatever is lost.
  deadline=$(awk -v c="$count" -v i="$interval" 'BEGIN { printf "%d", c * i + 5 }')
  timeout $((deadline + 5)) ip netns exec "$BENCH_NS" ping -n -c "$count" -i "$interval" \
    -w "$deadline" "$INET_IP" >"$txt" 2>&1 || true
  got=$("$BENCH_PY" - "$txt" <<'PY'
import math, re, sys
t = open(sys.argv[1]).read()
rtts = sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", t))
m = re.search(r"(\d+) packets transmitted, (\d+) received", t)
lost = int(m.group(1)) - int(m.group(2)) if m else -1
if not rtts:
    print("ERR", lost)
else:
    n = len(rtts)
    med = rtts[n // 2] if n % 2 else (rtts[n // 2 - 1] + rtts[n // 2]) / 2
    p99 = rtts[max(0, math.ceil(0.99 * n) - 1)]  # nearest rank
    print("%.3f %.3f %d" % (med, p99, lost))
PY
  )
  if [[ $got == ERR* ]]; then
    bench_log "  $sys ping: no replies"
    bench_row "$sys" "error" "ping: no replies"
    return 0
  fi
  read -r med p99 lost <<<"$got"
  bench_row "$sys" rtt_med "$med"
  bench_row "$sys" rtt_p99 "$p99"
  bench_row "$sys" ping_lost "$lost"
  bench_log "  $sys ping x$count: median $med ms, p99 $p99 ms, $lost lost"
}

bench_memory() {
  local sys="$1" ent role pid v
  for ent in $BENCH_PROCS; do
    role=${ent%%=*}
    pid=${ent#*=}
    v=$(bench_proc_mem_kib "$pid" VmRSS)
    [[ -n "$v" ]] && bench_row "$sys" "rss_${role}_kib" "$v"
    v=$(bench_proc_mem_kib "$pid" VmHWM)
    [[ -n "$v" ]] && bench_row "$sys" "hwm_${role}_kib" "$v"
  done
  return 0
}
