#!/usr/bin/env bash
# bench/json.sh - the NDJSON path (strict JSON -> msgpack -> envelope rules)
# of two dossier binaries on the same data, in the same run.
#
# Generates EVENTS (default 100,000) artifact_indexed envelopes with
# tests/support/gen_envelopes.py under bench/work/ (regenerated only when
# missing), then runs, RUNS times (default 5) in alternation so drifting
# machine load hits both binaries alike:
#   validate   dossier validate -q FILE            (parse + rules, no log)
#   import     dossier import -q FILE --log fresh  (parse + rules + append)
# for BASE (the binary to compare against) and NEW.  Prints per row and
# binary the median and range of wall time and of CPU time (user + sys),
# the NEW/BASE ratio of the medians, and appends CSV rows to
# bench/results/json.csv.
#
# Usage: bench/json.sh BASE_BIN NEW_BIN
#   e.g. bench/json.sh build/base/dossier build/codec/dossier
# Environment: EVENTS, RUNS, ROWS (default "validate import").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ $# -eq 2 ] || { sed -n '2,18p' "$0"; exit 2; }
base=$(readlink -f "$1")
new=$(readlink -f "$2")
for b in "$base" "$new"; do
  [ -x "$b" ] || { echo "bench/json.sh: $b is not an executable" >&2; exit 2; }
done
events=${EVENTS:-100000}
runs=${RUNS:-5}
rows=${ROWS:-"validate import"}
work=$ROOT/bench/work/json
mkdir -p "$work" "$ROOT/bench/results"
data=$work/envelopes-$events.ndjson
if [ ! -s "$data" ]; then
  python3 tests/support/gen_envelopes.py "$events" --seed 18 > "$data.tmp"
  mv "$data.tmp" "$data"
fi
bytes=$(wc -c < "$data")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dossier-jsonbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# one(ROW BIN): print "wall cpu" seconds of one run
one() {
  local row=$1 bin=$2 out
  rm -rf "$tmp/log"
  case $row in
    validate) out=$( { /usr/bin/time -f '%e %U %S' "$bin" validate -q "$data" > /dev/null; } 2>&1 ) ;;
    import)   out=$( { /usr/bin/time -f '%e %U %S' "$bin" import -q "$data" --log "$tmp/log" \
                         > /dev/null; } 2>&1 ) ;;
  esac
  echo "$out" | tail -1 | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}

csv=$ROOT/bench/results/json.csv
[ -f "$csv" ] || echo "date,host_load1,row,binary,events,bytes,run,wall_s,cpu_s" > "$csv"
declare -A wall cpu
for row in $rows; do
  for r in $(seq 1 "$runs"); do
    for which in base new; do
      bin=$base; [ $which = new ] && bin=$new
      read -r w c <<< "$(one "$row" "$bin")"
      wall[$row,$which]+="$w "
      cpu[$row,$which]+="$c "
      echo "$(date -u +%FT%TZ),$(cut -d' ' -f1 /proc/loadavg),$row,$which,$events,$bytes,$r,$w,$c" >> "$csv"
    done
  done
done

# stats(LIST): "median min max"
stats() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{ v[NR] = $1 }
  END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f", m, v[1], v[NR] }'; }
echo "NDJSON: $events envelopes, $((bytes / 1048576)) MiB, $runs runs each, alternating; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "base: $base"
echo "new:  $new"
printf '%-9s %-5s %22s %22s\n' row bin "wall s median [range]" "cpu s median [range]"
for row in $rows; do
  for which in base new; do
    read -r wm wlo whi <<< "$(stats "${wall[$row,$which]}")"
    read -r cm clo chi <<< "$(stats "${cpu[$row,$which]}")"
    printf '%-9s %-5s %8s [%5s-%5s] %8s [%5s-%5s]\n' "$row" "$which" "$wm" "$wlo" "$whi" "$cm" "$clo" "$chi"
    eval "${which}_w=$wm ${which}_c=$cm"
  done
  # shellcheck disable=SC2154
  awk -v bw="$base_w" -v nw="$new_w" -v bc="$base_c" -v nc="$new_c" -v r="$row" \
    'BEGIN { printf "%-9s new/base: wall %.2f, cpu %.2f\n", r, nw / bw, nc / bc }'
done
echo "CSV: $csv"
