#!/usr/bin/env bash
# bench/watch.sh - what does `dossier watch` cost on corpus A (100,000 files
# of 256 B - 8 KiB in 100 folders, bench/gen_corpus.py as bench/run.sh
# builds it)?  Issue 22's three figures, with their peers in the same run:
#   idle      CPU seconds the watcher uses over IDLE_S (10) seconds without a
#             change (target < 0.01 CPU-s)
#   latency   from one file written to the run recording it (the watcher's
#             --json line, printed once the run is durable and projected),
#             and to its artifact_indexed event printed by a reader
#             following the log (`events --follow`, woken by inotify), LAT_RUNS
#             (11) times; median and range; target <= debounce + 50 ms.
#             Peer: the wall time of a warm `scan --emit changed` of the tree
#             with that one change (what a run cost before runs covered the
#             changed paths only)
#   burst     10,000 files rewritten at once: time until every change is
#             recorded, and in how many runs.  Peer: a warm
#             `scan --emit changed` of the same 10,000 changes (target: the
#             watcher's is not slower)
# A CSV copy goes to bench/results/watch-<time>.csv.
#
# Environment: DOSSIER_BIN (default: build/bench/dossier, built here as
# Release), DEBOUNCE_MS (200), IDLE_S, LAT_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORKDIR=$ROOT/bench/work
RESULTS=$ROOT/bench/results
PY=/usr/bin/python3
DEBOUNCE_MS=${DEBOUNCE_MS:-200}
IDLE_S=${IDLE_S:-10}
LAT_RUNS=${LAT_RUNS:-11}
source "$ROOT/bench/lib.sh"
bench_bin
A=$WORKDIR/A
if [ ! -f "$A/.complete" ]; then
  rm -rf "$A"; mkdir -p "$A"
  echo "generating corpus A: 100,000 files ..." >&2
  $PY "$ROOT/bench/gen_corpus.py" "$A" 100 1000 256 8192 42
  touch "$A/.complete"
fi
L=$WORKDIR/watch-log
rm -rf "$L"
mkdir -p "$RESULTS"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

$PY - "$BIN" "$A" "$L" "$DEBOUNCE_MS" "$IDLE_S" "$LAT_RUNS" "$RESULTS/watch-$stamp.csv" <<'PYEOF'
import json, os, resource, signal, statistics, subprocess, sys, threading, time
binary, corpus, log, debounce, idle_s, lat_runs, csv = sys.argv[1:]
debounce, idle_s, lat_runs = int(debounce), float(idle_s), int(lat_runs)
tick = os.sysconf("SC_CLK_TCK")

def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick      # utime + stime

def start():
    p = subprocess.Popen([binary, "watch", corpus, "--log", log, "--json",
                          "--debounce", str(debounce)], stdout=subprocess.PIPE, text=True)
    lines, cv = [], threading.Condition()
    def read():
        for line in p.stdout:
            with cv:
                lines.append((time.monotonic(), json.loads(line)))
                cv.notify_all()
    threading.Thread(target=read, daemon=True).start()
    return p, lines, cv

def wait_lines(lines, cv, n, timeout=600):
    with cv:
        if not cv.wait_for(lambda: len(lines) >= n, timeout):
            sys.exit("no run within %d s" % timeout)

def rewrite(paths, tag):
    for p in paths:
        with open(p, "ab") as f:
            f.write(tag)

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def scan_changed():
    """wall and CPU seconds of one warm `scan --emit changed`"""
    t, c = time.monotonic(), children_cpu()
    subprocess.run([binary, "scan", corpus, "--log", log, "--emit", "changed", "-q"], check=True)
    return time.monotonic() - t, children_cpu() - c

rows = []
# the starting scan: cold (fresh log)
t0 = time.monotonic()
p, lines, cv = start()
wait_lines(lines, cv, 1)
rows.append(("starting scan (cold, fresh log)", "wall_s", time.monotonic() - t0, ""))
time.sleep(1)
# a reader following the log, as a dashboard would
fl, flcv = [], threading.Condition()
follow = subprocess.Popen([binary, "events", "--log", log, "--follow", "--type",
                           "mission_dossier_artifact_indexed", "--since",
                           str(lines[0][1]["events"]["last_seq"])],
                          stdout=subprocess.PIPE, text=True)
def read_follow():
    for line in follow.stdout:
        with flcv:
            fl.append((time.monotonic(), json.loads(line)["payload"]["relative_path"]))
            flcv.notify_all()
threading.Thread(target=read_follow, daemon=True).start()
# idle
c0 = cpu_s(p.pid)
time.sleep(idle_s)
idle = cpu_s(p.pid) - c0
rows.append(("idle %.0f s, no change" % idle_s, "cpu_s", idle, "target < 0.01"))
# latency: one file each time
files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(corpus) for f in fs
               if not f.startswith("."))
lat, lat_cpu, lat_f = [], [], []
for i in range(lat_runs):
    n = len(lines)
    path = files[(i * 7919) % len(files)]
    rel = os.path.relpath(path, corpus)
    t, c = time.monotonic(), cpu_s(p.pid)
    rewrite([path], b"latency %d\n" % i)
    wait_lines(lines, cv, n + 1)
    lat.append(lines[n][0] - t)
    lat_cpu.append(cpu_s(p.pid) - c)
    with flcv:
        if not flcv.wait_for(lambda: any(r == rel for _, r in fl), 60):
            sys.exit("events --follow did not print %s within 60 s" % rel)
        lat_f.append([w for w, r in fl if r == rel][0] - t)
    time.sleep(0.5)
med = statistics.median(lat)
rows.append(("latency, one file written -> run recorded", "median_s", med,
             "range %.3f-%.3f; target <= %.3f" % (min(lat), max(lat), debounce / 1e3 + 0.05)))
rows.append(("latency, one file written -> indexed event read by events --follow",
             "median_s", statistics.median(lat_f),
             "range %.3f-%.3f; follow is woken by inotify" % (min(lat_f), max(lat_f))))
rows.append(("watcher CPU per one-file run", "median_cpu_s", statistics.median(lat_cpu),
             "range %.3f-%.3f" % (min(lat_cpu), max(lat_cpu))))
# burst: 10,000 files
burst = files[::10][:10000]
n = len(lines)
t, c = time.monotonic(), cpu_s(p.pid)
rewrite(burst, b"burst\n")
with cv:
    if not cv.wait_for(lambda: sum(l[1]["events"]["indexed"] for l in lines[n:]) >= len(burst),
                       600):
        sys.exit("the burst was not recorded within 600 s")
burst_s, burst_cpu = time.monotonic() - t, cpu_s(p.pid) - c
runs = len(lines) - n
runs_po = sum(1 for l in lines[n:] if l[1].get("paths_only"))
p.send_signal(signal.SIGINT)
p.wait(timeout=600)
follow.terminate()
follow.wait(timeout=60)
# peers, same tree, same log, the watcher stopped
one = []
for i in range(3):
    rewrite([files[(i * 104729) % len(files)]], b"peer %d\n" % i)
    one.append(scan_changed())
w1, c1 = [x[0] for x in one], [x[1] for x in one]
rows.append(("peer: warm scan --emit changed, one file changed", "median_s",
             statistics.median(w1), "range %.3f-%.3f" % (min(w1), max(w1))))
rows.append(("peer: its CPU", "median_cpu_s", statistics.median(c1),
             "range %.3f-%.3f" % (min(c1), max(c1))))
rewrite(burst, b"peer burst\n")
peer, peer_cpu = scan_changed()
rows.append(("burst of 10,000 rewritten files, all recorded", "wall_s", burst_s,
             "%d run(s), %d over the changed paths only; CPU %.2f s" % (runs, runs_po, burst_cpu)))
rows.append(("peer: warm scan --emit changed of the same 10,000 changes", "wall_s", peer,
             "CPU %.2f s; watch/peer wall %.2f" % (peer_cpu, burst_s / peer)))
with open(csv, "w") as f:
    f.write("measure,unit,value,note\n")
    for r in rows:
        f.write('"%s",%s,%.4f,"%s"\n' % r)
print("| measure | unit | value | note |\n|---|---|---|---|")
for r in rows:
    print("| %s | %s | %.3f | %s |" % r)
print("csv: %s" % csv, file=sys.stderr)
PYEOF
