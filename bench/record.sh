#!/usr/bin/env bash
# bench/record.sh - the record phase of a full scan, two binaries alternated.
#
# Runs OLD and NEW dossier binaries in turn, ROUNDS times each, on one corpus
# (default: corpus A, bench/work/A, which bench/run.sh generates): a cold scan
# into a fresh log, then a warm full rescan of the same log (scan cache hits,
# every artifact_indexed event emitted again).  Each scan's `-v` phase
# timings give the record phase's wall and CPU seconds; /usr/bin/time gives
# the process's CPU (user + sys).  Prints medians [min-max] per binary, the
# new/old ratio of the medians and the load average before and after, and
# writes every run to bench/results/record-<UTC>.csv.
#
# Usage: bench/record.sh OLD_BIN NEW_BIN [CORPUS]    (ROUNDS, default 8)
# The logs go to a scratch folder under $TMPDIR; the corpus is only read.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?old binary}; NEW=${2:?new binary}
CORPUS=${3:-$PWD/bench/work/A}
ROUNDS=${ROUNDS:-8}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dossier-record.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p bench/results
CSV=bench/results/record-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "binary,round,kind,record_wall,record_cpu,process_cpu" >"$CSV"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

one() {   # one() LABEL BIN ROUND KIND LOG
  local out
  out=$( { /usr/bin/time -f 'TIME %U %S' "$2" scan "$CORPUS" --log "$5" -v >/dev/null; } 2>&1 )
  local rec cpu
  rec=$(sed -n 's/.*record \([0-9.]*\)\/\([0-9.]*\).*/\1,\2/p' <<<"$out")
  cpu=$(awk '/^TIME/ {printf "%.3f", $2 + $3}' <<<"$out")
  echo "$1,$3,$4,$rec,$cpu" >>"$CSV"
}

for r in $(seq 1 "$ROUNDS"); do
  for pair in "old:$OLD" "new:$NEW"; do
    label=${pair%%:*}; bin=${pair#*:}
    rm -rf "$SCRATCH/log"
    one "$label" "$bin" "$r" cold "$SCRATCH/log"
    one "$label" "$bin" "$r" warm "$SCRATCH/log"
  done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$CSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def stat(b, k, f):
    v = sorted(float(r[f]) for r in rows if r["binary"] == b and r["kind"] == k)
    return statistics.median(v), v[0], v[-1]
print(f"{'':18}{'old':>24}{'new':>24}{'new/old':>9}")
for k in ("cold", "warm"):
    for f in ("record_wall", "record_cpu", "process_cpu"):
        o, n = stat("old", k, f), stat("new", k, f)
        cell = lambda s: f"{s[0]:.3f} [{s[1]:.3f}-{s[2]:.3f}]"
        print(f"{k + ' ' + f:18}{cell(o):>24}{cell(n):>24}{n[0] / o[0]:>9.2f}")
print("csv:", sys.argv[1])
PY
