#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A long fuzzing campaign: runs each fuzzer for a fixed number of executions, then merges the
# inputs that found new coverage into its corpus in the repository (CI replays that corpus).
#
# Usage: fuzz/long_run.sh BUILD_DIR RUNS [NAME...]
#   BUILD_DIR  a fuzz build (cmake --preset fuzz && cmake --build --preset fuzz)
#   RUNS       executions per fuzzer (the project's bar is 10000000)
#   NAME       fuzzers to run (e.g. config_fuzz); all of BUILD_DIR/fuzz/*_fuzz by default
# Prints one markdown table row per fuzzer (for fuzz/RESULTS.md): executions, wall time,
# executions per second, coverage (cov/ft as libFuzzer counts them), corpus size before and
# after the merge, and the outcome. Stops at the first fuzzer that fails; its log and inputs are
# kept in BUILD_DIR/fuzz-artifacts/NAME/. Bounded by RUNS and by LONG_RUN_MAX_SECONDS per
# fuzzer (default 7200): a fuzzer that reaches the time bound first reports fewer executions.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR RUNS [NAME...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
runs=$2
shift 2
[[ $runs =~ ^[0-9]+$ ]] || { echo "$0: RUNS must be a number, not '$runs'" >&2; exit 2; }
max_seconds=${LONG_RUN_MAX_SECONDS:-7200}
source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

names=("$@")
if ((${#names[@]} == 0)); then
  for binary in "$build_dir"/fuzz/*_fuzz; do
    [[ -x $binary ]] && names+=("$(basename "$binary")")
  done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/slirpvpn-fuzz-long.XXXXXX")
# Removed only when every fuzzer finished: an interrupted campaign keeps its inputs there, to be
# merged by hand (NAME -merge=1 fuzz/corpus/NAME SCRATCH/NAME/corpus).
trap 'echo "$0: interrupted; inputs kept in $scratch" >&2' INT TERM

stat() {  # stat NAME LOG: the value of libFuzzer's final "stat::NAME:" line
  awk -v key="stat::$1:" '$1 == key { value = $2 } END { print value + 0 }' "$2"
}

echo "| fuzzer | executions | seconds | exec/s | cov | ft | corpus before → after | result |"
echo "|---|---:|---:|---:|---:|---:|---|---|"
for name in "${names[@]}"; do
  binary="$build_dir/fuzz/$name"
  [[ -x $binary ]] || { echo "$0: no fuzzer $binary" >&2; exit 2; }
  corpus="$source_dir/fuzz/corpus/$name"
  mkdir -p "$corpus"
  work="$scratch/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$corpus/." "$work/corpus/"
  before=$(find "$corpus" -type f | wc -l)
  log="$work/fuzz.log"
  started=$SECONDS
  outcome=ok
  if ! "$binary" -runs="$runs" -max_total_time="$max_seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1 &&
    # Stopped with SIGINT (e.g. to free the machine): nothing was found; merge what ran.
    ! { grep -q 'libFuzzer: run interrupted' "$log" && outcome="interrupted, nothing found"; }; then
    keep="$build_dir/fuzz-artifacts/$name"
    mkdir -p "$keep"
    cp "$log" "$keep/"
    find "$work/artifacts" -type f -exec cp {} "$keep/" \;
    echo "| $name | $(stat number_of_executed_units "$log") | $((SECONDS - started)) | | | | | FAILED: see $keep |"
    tail -n 30 "$log" >&2
    exit 1
  fi
  seconds=$((SECONDS - started))
  executions=$(stat number_of_executed_units "$log")
  # The last status line carries the coverage: "#N DONE cov: C ft: F corp: ...".
  read -r cov ft < <(awk '/cov: / { for (i = 1; i < NF; i++) { if ($i == "cov:") c = $(i + 1);
                                    if ($i == "ft:") f = $(i + 1) } } END { print c, f }' "$log")
  # Only inputs that add coverage join the repository's corpus.
  "$binary" -merge=1 "$corpus" "$work/corpus" >"$work/merge.log" 2>&1
  after=$(find "$corpus" -type f | wc -l)
  echo "| $name | $executions | $seconds | $((executions / (seconds > 0 ? seconds : 1))) | $cov | $ft | $before → $after | $outcome |"
done
rm -rf "$scratch"
