#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, from a fresh Debian 12 machine: installs what it needs, checks the
# formatting, builds release, sanitizer (ASan+UBSan) and fuzzer builds, runs the unit tests on
# the first two, replays and briefly runs every fuzzer, then runs the network-namespace
# integration tests (as root) against the release build. Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-2}
passed=0
failed=0
failures=()

step() { echo; echo "=== $* ==="; }
record() {
  local name=$1 status=$2
  if [ "$status" -eq 0 ]; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

step "dependencies"
bash scripts/install-deps.sh || { echo "FAIL: could not install dependencies"; exit 1; }

step "clang-format"
mapfile -t sources < <(git ls-files '*.cpp' '*.h')
clang-format --dry-run --Werror "${sources[@]}"
record "clang-format" $?

build() {
  local preset=$1
  step "build: $preset"
  mkdir -p build
  cmake --preset "$preset" > "build/$preset.configure.log" 2>&1 || { cat "build/$preset.configure.log"; return 1; }
  cmake --build --preset "$preset" -j "$JOBS"
}

for preset in release asan; do
  build "$preset"
  status=$?
  record "build $preset" $status
  if [ $status -eq 0 ]; then
    step "unit tests: $preset"
    ctest --preset "$preset" -j "$JOBS"
    record "unit tests ($preset)" $?
  fi
done

build fuzz
status=$?
record "build fuzz" $status
if [ $status -eq 0 ]; then
  step "fuzzers: corpus replay and ${FUZZ_SECONDS}s each"
  bash fuzz/run_corpus.sh build/fuzz "$FUZZ_SECONDS"
  record "fuzzers" $?
fi

# End-to-end tests that also run on the ASan+UBSan build: the server, the client and the
# protocol against real peers. Timing assertions inside them are skipped on that build. Leak
# checking stays with the unit tests: LeakSanitizer stops the world with ptrace, which the
# server's seccomp sandbox forbids.
SANITIZED_INTEGRATION=${SANITIZED_INTEGRATION:-"wireguard_go_interop server_basic client_slirpvpn_server server_many_peers server_soak server_rate_limit"}

if [ "$(id -u)" -eq 0 ]; then
  for test in tests/integration/*.sh; do
    step "integration: $test"
    timeout 600 bash "$test" "$ROOT/build/release"
    status=$?  # before the $(basename) below, which would reset $?
    record "integration $(basename "$test" .sh)" $status
  done
  for name in $SANITIZED_INTEGRATION; do
    [ -f "tests/integration/$name.sh" ] || continue
    step "integration (asan): $name"
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      timeout 600 bash "tests/integration/$name.sh" "$ROOT/build/asan"
    record "integration $name (asan)" $?
  done
else
  echo "integration tests need root (network namespaces): skipped"
  record "integration tests (need root)" 1
fi

echo
for name in "${failures[@]}"; do echo "failed: $name"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
