#!/usr/bin/env bash
# The test command: installs what is needed, then builds and runs every test
#   1. Release build with -Wall -Wextra -Werror: unit (cmocka) + end-to-end tests
#   2. AddressSanitizer + UBSan build: the whole suite again
#   3. ThreadSanitizer build: the worker-pool and concurrency tests (label tsan)
#   4. libFuzzer: every parser (scripts/fuzz.sh lists them), for the time per
#      harness given below, chosen so the whole run fits CI's time budget
# Usage: scripts/test.sh [--quick]   (--quick: only step 1)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --deps

jobs=$(nproc)
run_suite() {  # name, ctest label filter, cmake args...
  local name=$1 label=$2; shift 2
  echo "=== $name ==="
  cmake -S . -B "build/$name" -DDOSSIER_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs"
  local filter=()
  [ -n "$label" ] && filter=(-L "$label")
  (cd "build/$name" && ctest --output-on-failure -j"$jobs" "${filter[@]}") | tee "build/$name.ctest.log"
  local line
  line=$(grep -E '^[0-9]+% tests passed' "build/$name.ctest.log" | tail -n1)
  passed=$((passed + $(sed -E 's/.* out of ([0-9]+)/\1/' <<<"$line") - $(sed -E 's/.*, ([0-9]+) tests failed.*/\1/' <<<"$line")))
}
passed=0

run_suite ci "" -DCMAKE_BUILD_TYPE=Release
if [ "${1:-}" != "--quick" ]; then
  run_suite asan "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOSSIER_SANITIZE=address,undefined
  run_suite tsan tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOSSIER_SANITIZE=thread
  echo "=== fuzz (libFuzzer, 25 s per harness) ==="
  bash scripts/fuzz.sh 25
fi
echo "all test suites passed"
echo "$passed passed, 0 failed"
