#!/usr/bin/env bash
# Fuzz the parsers with libFuzzer (clang): the manifest parser, the NDJSON
# import/validate path, the stored-record decoder, the ignore-file parser,
# the spec-kitty-3 envelope check/convert path, the spec-kitty-3 WP
# frontmatter reader and the request a scan sends to a watcher.
#   scripts/fuzz.sh [SECONDS]     each harness runs SECONDS (default 60)
# Builds into build/fuzz (clang, -fsanitize=fuzzer,address,undefined), copies
# the committed seeds (tests/fuzz/corpus/<harness>/) into
# build/fuzz/corpus/<harness>/ (new inputs collect there, never in the
# source tree), runs each harness and prints its executions.  Exits 1 when a
# harness finds a crash, leak, timeout or sanitizer report; the input that
# triggered it is saved in build/fuzz/artifacts/ -- add it to the seeds with
# a regression test once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
case "$secs" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/setup.sh --deps)" >&2; exit 2; }

out=build/fuzz
harnesses=(fuzz_manifest fuzz_ndjson fuzz_record fuzz_sk3 fuzz_ignore fuzz_wp_frontmatter
           fuzz_scan_ask)
CC=clang cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOSSIER_FUZZ=ON \
  -DDOSSIER_SANITIZE=fuzzer-no-link,address,undefined -DDOSSIER_WITH_NATS=OFF >/dev/null
cmake --build "$out" -j"$(nproc)" --target "${harnesses[@]}"

mkdir -p "$out/artifacts"
status=0
printf '%-14s %12s %10s %8s  %s\n' harness executions exec/s seconds result
for h in "${harnesses[@]}"; do
  name=${h#fuzz_}
  corpus="$out/corpus/$name"
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
  logf="$out/$h.log"
  rc=0
  # -rss_limit_mb / -malloc_limit_mb: a parser must never need gigabytes for
  # a small input; -timeout: nor seconds.
  "$out/tests/fuzz/$h" "$corpus" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$h-" > "$logf" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logf" | tail -1)
  if [ "$rc" -eq 0 ]; then result=ok; else result="FAILED (see $logf)"; status=1; fi
  printf '%-14s %12s %10s %8s  %s\n' "$h" "${runs:-?}" "${rate:-?}" "$secs" "$result"
  if [ "$rc" -ne 0 ]; then grep -E "ERROR|SUMMARY|artifact|Test unit written" "$logf" | head -20; fi
done
exit $status
