#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replays every built fuzzer's seed corpus, then fuzzes it for a while; fails on any crash.
#
# Usage: fuzz/run_corpus.sh BUILD_DIR [SECONDS]
#
# For each executable BUILD_DIR/fuzz/<name>_fuzz: copy fuzz/corpus/<name>_fuzz/ to a scratch
# directory, run every input once (-runs=0), then fuzz for SECONDS (default 20) with
# -max_total_time, growing only the scratch copy. One line per fuzzer on stdout. Exit status is
# non-zero if any fuzzer crashed, leaked, hung or hit undefined behaviour; the crashing inputs
# are kept in BUILD_DIR/fuzz-artifacts/<name>/ so that each can become a regression test.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-20}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "$0: SECONDS must be a positive integer, not '$seconds'" >&2
  exit 2
fi
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The fuzz preset compiles UBSan recoverable; without halt_on_error a UB report would scroll
# past and the run would pass.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/slirpvpn-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Prints the value of libFuzzer's "stat::<name>:" line in a log, or 0.
stat() {
  awk -v key="stat::$1:" '$1 == key { value = $2 } END { print value + 0 }' "$2"
}

# Keeps crash/leak/timeout inputs and the log of a failed run, and reports where they are.
keep_failure() {
  local name=$1 work=$2 log=$3
  local keep="$build_dir/fuzz-artifacts/$name"
  mkdir -p "$keep"
  cp "$log" "$keep/"
  find "$work/artifacts" -type f -exec cp {} "$keep/" \;
  echo "---- $name: last lines of $(basename "$log"); log and failing inputs kept in $keep ----" >&2
  tail -n 30 "$log" >&2
  echo "----" >&2
}

status=0
found=0
for binary in "$build_dir"/fuzz/*_fuzz; do
  [[ -f $binary && -x $binary ]] || continue
  found=$((found + 1))
  name=$(basename "$binary")
  work="$scratch/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  seeds="$source_dir/fuzz/corpus/$name"
  if [[ -d $seeds ]]; then
    cp -R "$seeds/." "$work/corpus/"
  fi
  seed_count=$(find "$work/corpus" -type f | wc -l)
  common=(-timeout=10 -artifact_prefix="$work/artifacts/" -print_final_stats=1)

  if ! "$binary" "${common[@]}" -runs=0 "$work/corpus" >"$work/replay.log" 2>&1; then
    echo "$name: FAILED replaying its $seed_count seed inputs"
    keep_failure "$name" "$work" "$work/replay.log"
    status=1
    continue
  fi
  replayed=$(stat number_of_executed_units "$work/replay.log")

  if ! "$binary" "${common[@]}" -max_total_time="$seconds" "$work/corpus" \
    >"$work/fuzz.log" 2>&1; then
    echo "$name: FAILED while fuzzing ($(stat number_of_executed_units "$work/fuzz.log") executions)"
    keep_failure "$name" "$work" "$work/fuzz.log"
    status=1
    continue
  fi
  printf '%s: ok, %d seed inputs replayed (%d runs), %d executions in %d s, %d new inputs\n' \
    "$name" "$seed_count" "$replayed" "$(stat number_of_executed_units "$work/fuzz.log")" \
    "$seconds" "$(stat new_units_added "$work/fuzz.log")"
done

if ((found == 0)); then
  echo "$0: no fuzzers in $build_dir/fuzz (configure with -DSLIRPVPN_FUZZ=ON and build them)" >&2
  exit 1
fi
exit "$status"
