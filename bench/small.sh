#!/usr/bin/env bash
# bench/small.sh - small missions: the latency of one dossier command on
# examples/sample-mission (15 files) against `git status --porcelain` of the
# same files in a git repository, where start-up is the whole cost.
#
# Rows, in a scratch folder under bench/work/small/ (rebuilt every run):
#   true            /bin/true: the cost of starting any process here
#   git_status      git status --porcelain, a copy of the mission made a git
#                   repository (index populated, nothing changed)
#   version         dossier --version: start-up alone
#   index           dossier index MISSION --mission-type software-dev
#   scan            dossier scan ... --log LOG, the log existing (an unchanged
#                   rescan recording its run)
#   status          dossier status --log LOG
#   scan_watched    dossier scan ... --emit changed --log WLOG while `dossier
#                   watch` holds WLOG: the watcher records the run and
#                   answers (docs/watch.md); CPU is the asking process's
#   scan_watched_full  the scan row's command (full emission) on WLOG,
#                   answered by the same watcher
# Every row runs RUNS times (default 21) in alternation (round 1: each row
# once, round 2: ...), so drifting machine load hits all of them alike.  The
# table shows the median wall time with its range, the median CPU time
# (user + system, from the kernel's accounting of the child), and both ratios
# to git status; then the issue's targets (index <= 2x, scan <= 3x git
# status, wall time; the watched scans against the scan's target).  Markdown +
# CSV go to bench/results/small-STAMP.*.
#
# Usage: bench/small.sh [--runs N]
# Environment: DOSSIER_BIN (default: a Release build in build/bench, built or
# refreshed here, as bench/run.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=21
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "bench/small.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
source "$ROOT/bench/lib.sh"
bench_bin

W=$ROOT/bench/work/small
rm -rf "$W"
mkdir -p "$W" "$ROOT/bench/results"
cp -r "$ROOT/examples/sample-mission" "$W/mission"
rm -rf "$W/mission/.dossier"
cp -r "$W/mission" "$W/git"
git -C "$W/git" init -q
git -C "$W/git" add -A
git -C "$W/git" -c user.name=bench -c user.email=bench@localhost commit -qm mission
git -C "$W/git" status --porcelain > /dev/null   # index stat data refreshed
"$BIN" scan "$W/mission" --mission-type software-dev --log "$W/log" -q > /dev/null
# the watcher of scan_watched, on its own log; ready once its socket is there
"$BIN" watch "$W/mission" --mission-type software-dev --log "$W/wlog" -q &
WATCH_PID=$!
trap 'kill -TERM "$WATCH_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -S "$W/wlog/watch.sock" ] && break; sleep 0.1; done
"$BIN" scan "$W/mission" --mission-type software-dev --log "$W/wlog" -q --emit changed

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
"$PY" - "$RUNS" "$BIN" "$W" "$ROOT/bench/results/small-$STAMP" <<'PYEOF'
import os, resource, statistics, subprocess, sys, time
runs, binary, w, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
m, log = os.path.join(w, "mission"), os.path.join(w, "log")
rows = [
    ("true", ["/bin/true"]),
    ("git_status", ["git", "-C", os.path.join(w, "git"), "status", "--porcelain"]),
    ("version", [binary, "--version"]),
    ("index", [binary, "index", m, "--mission-type", "software-dev"]),
    ("scan", [binary, "scan", m, "--mission-type", "software-dev", "--log", log, "-q"]),
    ("status", [binary, "status", "--log", log]),
    ("scan_watched", [binary, "scan", m, "--mission-type", "software-dev", "--log",
                      os.path.join(w, "wlog"), "-q", "--emit", "changed"]),
    ("scan_watched_full", [binary, "scan", m, "--mission-type", "software-dev", "--log",
                           os.path.join(w, "wlog"), "-q"]),
]
wall = {n: [] for n, _ in rows}
cpu = {n: [] for n, _ in rows}
devnull = open(os.devnull, "wb")
for _ in range(runs):
    for name, cmd in rows:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, stdout=devnull, stderr=devnull)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if rc != 0:
            sys.exit("bench/small.sh: %s exited %d" % (" ".join(cmd), rc))
        wall[name].append((t1 - t0) * 1000)
        cpu[name].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
med = {n: statistics.median(wall[n]) for n in wall}
cmed = {n: statistics.median(cpu[n]) for n in cpu}
g, gc = med["git_status"], cmed["git_status"]
md = ["| row | wall ms, median [min-max] | CPU ms, median | wall / git status | CPU / git status |",
      "|---|---:|---:|---:|---:|"]
csv = ["row,runs,wall_ms_median,wall_ms_min,wall_ms_max,cpu_ms_median,ratio_wall_git,ratio_cpu_git"]
for n, _ in rows:
    md.append("| %s | %.1f [%.1f-%.1f] | %.1f | %.2f | %.2f |" % (
        n, med[n], min(wall[n]), max(wall[n]), cmed[n], med[n] / g, cmed[n] / gc if gc else 0))
    csv.append("%s,%d,%.2f,%.2f,%.2f,%.2f,%.3f,%.3f" % (
        n, runs, med[n], min(wall[n]), max(wall[n]), cmed[n], med[n] / g,
        cmed[n] / gc if gc else 0))
md += ["", "| target (issue 21) | measured | goal | met |", "|---|---:|---:|---|"]
for n, goal in (("index", 2.0), ("scan", 3.0), ("scan_watched", 3.0),
                ("scan_watched_full", 3.0)):
    r = med[n] / g
    md.append("| %s / git status --porcelain (wall) | %.2f | ≤ %.1f | %s |" % (
        n, r, goal, "yes" if r <= goal else "**no**"))
md.append("")
md.append("%d runs in alternation; load average at the end: %s" % (
    runs, open("/proc/loadavg").read().split()[:3]))
text = "\n".join(md) + "\n"
open(out + ".md", "w").write(text)
open(out + ".csv", "w").write("\n".join(csv) + "\n")
print(text)
print("Markdown: %s.md\nCSV:      %s.csv" % (out, out))
PYEOF
# a watcher gone meanwhile would have left scan_watched to scan for itself
kill -0 "$WATCH_PID" 2> /dev/null \
  || { echo "bench/small.sh: the watcher stopped: the scan_watched rows were not answered by it" >&2; exit 1; }
