#!/usr/bin/env bash
# bench/run.sh - dossier against the tools users would pick instead.
#
# Corpora (generated deterministically under bench/work/, which git ignores;
# regenerated only when missing):
#   A: 100,000 files of 256 B - 8 KiB in 100 folders (1 in 4 is Markdown)
#   B: 8 files x 256 MiB
#   C: 1,000,000 files of 256 B - 4 KiB in 1,000 folders (--with-c; for
#      scale and peak memory)
# Rows, per corpus, on the same tree with the page cache warm:
#   dossier scan cold         fresh log each run (events durably logged)
#   dossier scan cold sk3     the same with --profile spec-kitty-3 (corpus A:
#                             every file UTF-8-checked, WP files projected)
#   dossier scan warm         unchanged tree, scan cache, full emission
#   dossier scan warm changed unchanged tree, scan cache, --emit changed
#   dossier scan watched      (corpus A) the same scan while `dossier watch`
#                             holds its log: the watcher records the run and
#                             answers (docs/watch.md); the CPU column is the
#                             asking process's, the watcher's CPU per answer
#                             is printed under the table
#   dossier scan watched full (corpus A) a full-emission scan asking the same
#                             watcher: every artifact recorded, none stat'ed
#   dossier index             hash + match, no log
#   sha256sum                 find | xargs -0 -P$(nproc) sha256sum
#   openssl                   find | xargs -0 -P$(nproc) openssl dgst -sha256
#   b3sum                     find | xargs -0 -P$(nproc) b3sum (BLAKE3: a speed reference)
#   aide                      aide --init, rule = sha256, num_workers = cores
#   git status                (corpus A) `git status --porcelain` of the corpus
#                             as a committed git repo, index populated; its
#                             git dir is bench/work/A.git, outside the corpus
#                             the peers hash (--git-dir/--work-tree), made once
#   sha256_limit              corpus B only: `openssl speed -evp sha256 -multi
#                             $(nproc)` (16 KiB blocks) as the seconds corpus
#                             B's bytes take at that rate; its CPU s column is
#                             the one-core rate (user CPU time) as CPU seconds
# Every tool runs RUNS times (default 3) in alternation (round 1: each tool
# once, round 2: ...), so drifting machine load hits all of them alike, and
# each round starts one tool further down the list, so no tool always runs
# right after the same one (a run after aide pays for the memory aide has
# just freed: docs/bench.md, "The order of a round"); the
# table shows medians, MiB/s, files/s, the ratio to `dossier scan cold`, and
# peak RSS of the dossier rows.  Then the issue's targets with the measured
# ratios.  Markdown table + CSV (with the core count) go to bench/results/.
#
# Usage: bench/run.sh [--with-c] [--only A|B|C] [--runs N] [--tools T1,T2,...]
#   --tools: only these rows (names as in CMD below, e.g. scan_cold,scan_cold_sk3)
# Then bench/small.sh: small-mission latency against git status (same binary).
# Environment: DOSSIER_BIN (default: a Release build in build/bench, built or
# refreshed here), JOBS (default: nproc).
# Peers are installed from Debian when missing (apt-get install aide b3sum).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORKDIR=$ROOT/bench/work
RESULTS=$ROOT/bench/results
RUNS=3
JOBS=${JOBS:-$(nproc)}
WITH_C=0
ONLY=""
TOOLS=""
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case $1 in
    --with-c) WITH_C=1 ;;
    --only) ONLY=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --tools) TOOLS=$2; shift ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# ---- tools -------------------------------------------------------------------
need_pkgs=()
command -v aide >/dev/null || need_pkgs+=(aide)
command -v b3sum >/dev/null || need_pkgs+=(b3sum)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing peers from Debian: ${need_pkgs[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_pkgs[@]}" >&2
fi
source "$ROOT/bench/lib.sh"
bench_bin "$JOBS"

# ---- corpora -----------------------------------------------------------------
gen_a() {
  local dir=$WORKDIR/A
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating corpus A: 100,000 files ..." >&2
  $PY "$ROOT/bench/gen_corpus.py" "$dir" 100 1000 256 8192 42
  touch "$dir/.complete"
}
gen_b() {
  local dir=$WORKDIR/B
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating corpus B: 8 x 256 MiB ..." >&2
  $PY - "$dir" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
for i in range(1, 9):
    rng = random.Random(1000 + i)
    with open(os.path.join(root, "blob%d.bin" % i), "wb") as f:
        for _ in range(256):
            f.write(rng.randbytes(1 << 20))
PYEOF
  touch "$dir/.complete"
}
gen_c() {
  local dir=$WORKDIR/C
  [ -f "$dir/.complete" ] && return
  rm -rf "$dir"; mkdir -p "$dir"
  echo "generating corpus C: 1,000,000 files (a few minutes) ..." >&2
  $PY - "$dir" 1000 1000 256 4096 7 <<'PYEOF'
import os, random, sys
root, ndirs, per, lo, hi, seed = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(seed)
blob = rng.randbytes(1 << 20)
for d in range(ndirs):
    sub = os.path.join(root, "d%04d" % d)
    os.mkdir(sub)
    for i in range(per):
        n = rng.randint(lo, hi)
        off = rng.randint(0, len(blob) - n)
        with open(os.path.join(sub, "f%04d.bin" % i), "wb") as f:
            f.write(blob[off:off + n])
PYEOF
  touch "$dir/.complete"
}

corpora=()
case $ONLY in
  "") corpora=(A B); [ "$WITH_C" = 1 ] && corpora+=(C) ;;
  A|B|C) corpora=("$ONLY") ;;
  *) echo "bench/run.sh: --only takes A, B or C" >&2; exit 2 ;;
esac
for c in "${corpora[@]}"; do "gen_${c,,}"; done

# corpus A as a git work tree whose git dir lies beside it, for the warm
# rescan rows: committed, so a clean `git status` has the index to compare
GIT_A="git --git-dir=$WORKDIR/A.git --work-tree=$WORKDIR/A"
gen_git_a() {
  [ -f "$WORKDIR/A.git/.complete" ] && return
  rm -rf "$WORKDIR/A.git"
  echo "making corpus A a git repository (bench/work/A.git) ..." >&2
  git --git-dir="$WORKDIR/A.git" init -q
  $GIT_A add -A
  $GIT_A -c user.name=bench -c user.email=bench@localhost commit -q -m "corpus A"
  touch "$WORKDIR/A.git/.complete"
}
case " ${corpora[*]} " in *" A "*) command -v git >/dev/null && gen_git_a ;; esac

# ---- measuring -----------------------------------------------------------------
mkdir -p "$RESULTS" "$WORKDIR/logs"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW=$(mktemp)
TIMES=$(mktemp)
WATCH_PID=""
trap 'rm -f "$RAW" "$TIMES"; [ -z "$WATCH_PID" ] || kill -TERM "$WATCH_PID" 2>/dev/null || true' EXIT
warm_cache() { find "$1" -type f ! -name .complete -print0 | xargs -0 cat > /dev/null; }

# measure CORPUS TOOL ROUND CMD: one timed run; appends a raw record
measure() {
  local corpus=$1 tool=$2 round=$3 cmd=$4
  if ! /usr/bin/time -o "$TIMES" -f '%e %U %S %M' bash -c "$cmd" > /dev/null 2> "$WORKDIR/logs/last.err"; then
    # exit 1 of dossier means "incomplete", not failure (no manifest here: never)
    echo "command failed: $cmd" >&2; cat "$WORKDIR/logs/last.err" >&2; exit 1
  fi
  read -r w u s m < "$TIMES"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$corpus" "$tool" "$round" "$w" "$u" "$s" "$m" >> "$RAW"
}

# measure_limit ROUND BYTES: the SHA-256 limit row of corpus B.  openssl
# speed -multi times its children by the wall clock, so the limit suffers the
# machine's load as the rows beside it do; without -multi it divides by user
# CPU time, which gives the CPU seconds one core needs for BYTES.
measure_limit() {
  local round=$1 bytes=$2 multi single
  multi=$(openssl speed -evp sha256 -multi "$(nproc)" -seconds 3 -bytes 16384 -mr 2>/dev/null |
          awk -F: '/^\+F:/ {v = $4} END {print v}')
  single=$(openssl speed -evp sha256 -seconds 3 -bytes 16384 -mr 2>/dev/null |
           awk -F: '/^\+F:/ {v = $4} END {print v}')
  [ -n "$multi" ] && [ -n "$single" ] || { echo "openssl speed gave no rate" >&2; exit 1; }
  awk -v b="$bytes" -v m="$multi" -v s="$single" -v r="$round" \
    'BEGIN {printf "B\tsha256_limit\t%s\t%.3f\t%.3f\t0\t0\n", r, b / m, b / s}' >> "$RAW"
}

aide_conf() {  # corpus dir -> config path
  local conf=$WORKDIR/logs/aide-$2.conf
  cat > "$conf" <<EOF
database_out=file:$WORKDIR/logs/aide-$2.db
gzip_dbout=no
num_workers=$JOBS
log_level=error
report_level=minimal
R = sha256
$1 R
!$1/\.complete\$
EOF
  echo "$conf"
}

for corpus in "${corpora[@]}"; do
  dir=$WORKDIR/$corpus
  logs=$WORKDIR/logs/$corpus
  rm -rf "$logs"; mkdir -p "$logs"
  nflag=""; [ "$corpus" = B ] && nflag="-n 1"     # one 256 MiB file per process
  conf=$(aide_conf "$dir" "$corpus")
  declare -A CMD=(
    [scan_cold]="rm -rf '$logs/cold' && '$BIN' scan '$dir' --log '$logs/cold' --jobs $JOBS -q"
    [scan_cold_sk3]="rm -rf '$logs/cold3' && '$BIN' scan '$dir' --log '$logs/cold3' --jobs $JOBS -q --profile spec-kitty-3"
    [scan_warm]="'$BIN' scan '$dir' --log '$logs/warm' --jobs $JOBS -q"
    [scan_warm_changed]="'$BIN' scan '$dir' --log '$logs/changed' --jobs $JOBS -q --emit changed"
    [scan_watched]="'$BIN' scan '$dir' --log '$logs/watched' --jobs $JOBS -q --emit changed"
    [scan_watched_full]="'$BIN' scan '$dir' --log '$logs/watched' --jobs $JOBS -q"
    [index]="'$BIN' index '$dir' --jobs $JOBS -q"
    [sha256sum]="find '$dir' -type f ! -name .complete -print0 | xargs -0 -P$JOBS $nflag sha256sum"
    [openssl]="find '$dir' -type f ! -name .complete -print0 | xargs -0 -P$JOBS $nflag openssl dgst -sha256"
    [b3sum]="find '$dir' -type f ! -name .complete -print0 | xargs -0 -P$JOBS $nflag b3sum"
    [aide]="rm -f '$WORKDIR/logs/aide-$corpus.db' && aide --init -c '$conf'"
    [git_status]="$GIT_A status --porcelain"
  )
  tools=(scan_cold scan_warm scan_warm_changed index sha256sum openssl b3sum aide)
  [ "$corpus" = A ] && tools=(scan_cold scan_cold_sk3 scan_warm scan_warm_changed scan_watched scan_watched_full
                              git_status index sha256sum openssl b3sum aide)
  if [ "$corpus" = A ] && ! command -v git >/dev/null; then
    tools=("${tools[@]/git_status}")
  fi
  [ "$corpus" = C ] && tools=(scan_cold scan_warm scan_warm_changed index sha256sum)
  [ "$corpus" = B ] && tools=(scan_cold scan_warm scan_warm_changed index sha256_limit sha256sum
                              openssl b3sum aide)
  if [ -n "$TOOLS" ]; then
    keep=()
    for t in "${tools[@]}"; do case ",$TOOLS," in *",$t,"*) keep+=("$t") ;; esac; done
    tools=("${keep[@]}")
    [ ${#tools[@]} -gt 0 ] || continue
  fi
  echo "corpus $corpus: warming the page cache and the warm logs ..." >&2
  warm_cache "$dir"
  "$BIN" scan "$dir" --log "$logs/warm" --jobs "$JOBS" -q
  "$BIN" scan "$dir" --log "$logs/changed" --jobs "$JOBS" -q
  watched_rows=0
  for t in "${tools[@]}"; do
    case $t in scan_watched|scan_watched_full) watched_rows=$((watched_rows + 1)) ;; esac
  done
  if [ "$watched_rows" -gt 0 ]; then
    # a watcher holding its own log; ready once its socket is there (the
    # log is then locked: no scan can take it first) and it has answered
    "$BIN" watch "$dir" --log "$logs/watched" --jobs "$JOBS" -q &
    WATCH_PID=$!
    for _ in $(seq 1 600); do [ -S "$logs/watched/watch.sock" ] && break; sleep 0.1; done
    "$BIN" scan "$dir" --log "$logs/watched" -q --emit changed \
      || { echo "the watcher of corpus $corpus does not answer" >&2; exit 1; }
    watch_t0=$(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat")
  fi
  for round in $(seq 1 "$RUNS"); do
    n=${#tools[@]}
    for k in $(seq 0 $((n - 1))); do
      tool=${tools[$(( (k + round - 1) % n ))]}   # rotated by one per round
      [ -n "$tool" ] || continue
      echo "  $corpus round $round: $tool" >&2
      if [ "$tool" = sha256_limit ]; then
        measure_limit "$round" "$(find "$dir" -type f ! -name .complete -printf '%s\n' |
                                  awk '{s += $1} END {printf "%d", s}')"
        continue
      fi
      measure "$corpus" "$tool" "$round" "${CMD[$tool]}"
    done
  done
  if [ -n "$WATCH_PID" ]; then
    # the watcher's CPU (clock ticks) over the rounds, one answer per watched
    # row per round
    printf '%s\t%s\t%s\t%s\n' "$corpus" "$(( $(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat") - watch_t0 ))" \
      "$(getconf CLK_TCK)" "$((RUNS * watched_rows))" >> "$RAW.watch"
    kill -TERM "$WATCH_PID"
    wait "$WATCH_PID" || { echo "the watcher of corpus $corpus failed" >&2; exit 1; }
    WATCH_PID=""
  fi
  files=$(find "$dir" -type f ! -name .complete | wc -l)
  bytes=$(find "$dir" -type f ! -name .complete -printf '%s\n' | awk '{s+=$1} END {printf "%d", s}')
  printf '%s\t%s\t%s\n' "$corpus" "$files" "$bytes" >> "$RAW.sizes"
  rm -rf "$logs"
done

# ---- report --------------------------------------------------------------------
CSV=$RESULTS/run-$STAMP.csv
MD=$RESULTS/run-$STAMP.md
touch "$RAW.watch"
$PY - "$RAW" "$RAW.sizes" "$CSV" "$MD" "$JOBS" "$(nproc)" "$RUNS" "$RAW.watch" <<'PYEOF'
import collections, statistics, sys
raw, sizes_p, csv_p, md_p, jobs, cores, runs, watch_p = sys.argv[1:]
rows = collections.defaultdict(list)
order = []
for line in open(raw):
    c, tool, rnd, w, u, s, m = line.rstrip("\n").split("\t")
    if (c, tool) not in rows:
        order.append((c, tool))
    rows[(c, tool)].append((float(w), float(u) + float(s), int(m)))
sizes = {}
for line in open(sizes_p):
    c, f, b = line.split("\t")
    sizes[c] = (int(f), int(b))
label = {"scan_cold": "dossier scan cold (fresh log)",
         "scan_cold_sk3": "dossier scan cold --profile spec-kitty-3",
         "scan_warm": "dossier scan warm (cache, full emission)",
         "scan_warm_changed": "dossier scan warm --emit changed",
         "scan_watched": "dossier scan --emit changed, answered by a running watch",
         "scan_watched_full": "dossier scan (full emission), answered by a running watch",
         "git_status": "git status --porcelain (index populated)",
         "index": "dossier index", "sha256sum": "find \\| xargs -P sha256sum",
         "openssl": "find \\| xargs -P openssl dgst -sha256",
         "b3sum": "find \\| xargs -P b3sum (BLAKE3)", "aide": "aide --init (sha256)",
         "sha256_limit": "SHA-256 limit: openssl speed -multi %s (s for these bytes)" % cores}
med = {}
out = []
csv = ["corpus,tool,files,bytes,runs_s,median_s,cpu_median_s,mib_per_s,files_per_s,"
       "ratio_to_scan_cold,peak_rss_mb,jobs,cores"]
for c in dict.fromkeys(k[0] for k in order):
    f, b = sizes[c]
    out.append("")
    out.append("Corpus %s: %d files, %.1f MiB" % (c, f, b / 1048576))
    out.append("")
    out.append("| tool | median s | CPU s | MiB/s | files/s | × scan cold | peak RSS MB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    # --tools may leave the cold scan out: no ratio column then
    cold = statistics.median(w for w, _, _ in rows[(c, "scan_cold")]) if (c, "scan_cold") in rows else None
    for (cc, tool) in order:
        if cc != c:
            continue
        ws = [w for w, _, _ in rows[(c, tool)]]
        cpus = [x for _, x, _ in rows[(c, tool)]]
        t = statistics.median(ws)
        med[(c, tool)] = t
        rss = max(m for _, _, m in rows[(c, tool)]) / 1024
        rss_s = "%.0f" % rss if tool in ("scan_cold", "scan_cold_sk3", "scan_warm", "scan_warm_changed", "scan_watched",
                                   "scan_watched_full", "index") else ""
        to_cold = "%.2f" % (t / cold) if cold else ""
        out.append("| %s | %.2f | %.2f | %.0f | %.0f | %s | %s |" % (
            label[tool], t, statistics.median(cpus), b / 1048576 / t, f / t, to_cold, rss_s))
        csv.append("%s,%s,%d,%d,%s,%.3f,%.3f,%.1f,%.0f,%s,%.1f,%s,%s" % (
            c, tool, f, b, " ".join("%.2f" % w for w in ws), t, statistics.median(cpus),
            b / 1048576 / t, f / t, "%.3f" % (t / cold) if cold else "", rss, jobs, cores))
for line in open(watch_p):
    c, ticks, hz, n = line.split("\t")
    out.append("")
    out.append("Corpus %s: the watcher answering the `scan watched` rows spent %.3f CPU s per answer "
               "(its own process; the table's CPU s is the asking scan's)." % (
                   c, int(ticks) / int(hz) / int(n)))
out.append("")
out.append("Targets (ratios of medians):")
out.append("")
out.append("| target | measured | goal | met |")
out.append("|---|---:|---:|---|")
def tgt(name, val, goal, le=True):
    if val is None:
        return
    ok = val <= goal if le else val >= goal
    out.append("| %s | %.3f | %s %.2f | %s |" % (name, val, "≤" if le else "≥", goal,
                                                "yes" if ok else "**no**"))
def ratio(a, b):
    return med[a] / med[b] if a in med and b in med else None
tgt("A: scan cold / parallel sha256sum (issue 7)", ratio(("A", "scan_cold"), ("A", "sha256sum")), 0.5)
tgt("A: scan cold / AIDE (issues 7, 21)", ratio(("A", "scan_cold"), ("A", "aide")), 0.2)
if ("B", "scan_cold") in med and ("B", "openssl") in med:
    tgt("B: scan throughput / parallel openssl throughput (issue 7)",
        med[("B", "openssl")] / med[("B", "scan_cold")], 0.9, le=False)
if ("B", "index") in med and ("B", "sha256_limit") in med:
    tgt("B: index throughput / SHA-256 limit (issue 21)",
        med[("B", "sha256_limit")] / med[("B", "index")], 0.9, le=False)
    cpu_med = lambda k: statistics.median(x for _, x, _ in rows[k])
    tgt("B: the same in CPU time (one-core limit CPU s / index CPU s)",
        cpu_med(("B", "sha256_limit")) / cpu_med(("B", "index")), 0.9, le=False)
tgt("A: scan warm / scan cold (issues 7, 21)", ratio(("A", "scan_warm"), ("A", "scan_cold")), 0.4)
tgt("A: scan warm --emit changed / scan cold (issue 7)",
    ratio(("A", "scan_warm_changed"), ("A", "scan_cold")), 0.1)
tgt("A: scan warm --emit changed / git status --porcelain (issue 21)",
    ratio(("A", "scan_warm_changed"), ("A", "git_status")), 0.5)
def cpu_ratio(a, b):
    if a not in rows or b not in rows:
        return None
    return (statistics.median(x for _, x, _ in rows[a]) /
            statistics.median(x for _, x, _ in rows[b]))
tgt("A: the same in CPU s (user + sys)",
    cpu_ratio(("A", "scan_warm_changed"), ("A", "git_status")), 0.5)
tgt("A: scan --emit changed answered by a running watch / git status --porcelain (issue 21)",
    ratio(("A", "scan_watched"), ("A", "git_status")), 0.5)
tgt("A: scan (full emission) answered by a running watch / scan cold (issue 21)",
    ratio(("A", "scan_watched_full"), ("A", "scan_cold")), 0.4)
tgt("A: scan cold / dossier index (issue 4)", ratio(("A", "scan_cold"), ("A", "index")), 1.2)
tgt("A: scan cold --profile spec-kitty-3 / scan cold (issue 19)",
    ratio(("A", "scan_cold_sk3"), ("A", "scan_cold")), 1.15)
if ("C", "scan_cold") in rows:
    peak = max(m for k in rows if k[0] == "C" and k[1].startswith("scan")
               for _, _, m in rows[k]) / 1024
    out.append("| C: peak RSS of dossier scan (MB) | %.0f | < 500 | %s |" % (
        peak, "yes" if peak < 500 else "**no**"))
out.append("")
out.append("%s cores, --jobs %s, median of %s runs in alternation, page cache warm." % (
    cores, jobs, runs))
text = "\n".join(out) + "\n"
open(md_p, "w").write(text)
open(csv_p, "w").write("\n".join(csv) + "\n")
print(text)
PYEOF
rm -f "$RAW.sizes" "$RAW.watch"
# every measurement (corpus, tool, round, wall s, user s, sys s, max RSS KiB),
# for ranges beside the medians
cp "$RAW" "$RESULTS/raw-$STAMP.tsv"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Markdown: $MD"
echo "CSV:      $CSV"

# Small missions (start-up latency against git status): their own script.
DOSSIER_BIN=$BIN bash "$ROOT/bench/small.sh"
