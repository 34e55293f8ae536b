#!/usr/bin/python3
"""Helpers for the incremental-rescan end-to-end tests (scan_cache_*.sh,
scan_emit_changed.sh).

  gen-tree DIR N SEED        N files (deterministic) in nested folders whose
                             names exercise walk order (a/, a-b, a.txt, ab/);
                             every mtime set to 2020-01-01 (not racy)
  mutate DIR SEED K          rewrite K existing files with new content (new
                             sizes), keeping nothing else
  same-events EVENTS RUN_A RUN_B
                             the events of two runs (NDJSON from `dossier
                             events`) are identical field by field, except
                             event_id, timestamp, lamport_clock, the run id
                             (correlation_id) and causation_id; only the
                             run's own events (not the projections' derived
                             snapshot/drift events)
  run-counts EVENTS RUN      print "indexed missing removed" for one run
  cache-behind-log EVENTS CACHE_DUMP
                             every scan-cache entry (feature, path, sha256)
                             has an artifact_indexed event with the same
                             feature_slug, relative_path and hash in the log
  same-snapshot A.json B.json
                             two `dossier snapshot --json --artifacts` outputs
                             fold to the same set: parity hash, counts,
                             completeness, artifacts
Exit 0 when the check holds, 1 (with a message) otherwise.
"""
import json
import os
import random
import sys

OLD = 1577836800  # 2020-01-01T00:00:00Z


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def gen_tree(root, n, seed):
    rng = random.Random(int(seed))
    dirs = ["a", "a/b", "a-b", "ab", "ab/c/d", "evidence/run-1", "tasks", "z"]
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(int(n)):
        d = dirs[i % len(dirs)]
        ext = "md" if i % 5 == 0 else "bin"
        p = os.path.join(root, d, "f%05d.%s" % (i, ext))
        size = rng.randint(0, 9000)
        with open(p, "wb") as f:
            if ext == "md":
                f.write((("line %d of %d\n" % (i, size)) * (size // 12 + 1)).encode()[:size])
            else:
                f.write(rng.randbytes(size))
    # siblings that sort around "a/" in byte order
    for name in ("a.txt", "a-b.log", "ab.bin"):
        with open(os.path.join(root, name), "wb") as f:
            f.write(name.encode() * 10)
    for dp, _, fs in os.walk(root):
        for f in fs:
            os.utime(os.path.join(dp, f), (OLD, OLD))


def files_of(root):
    out = []
    for dp, dns, fs in os.walk(root):
        dns[:] = [d for d in dns if not d.startswith(".")]
        out += [os.path.join(dp, f) for f in fs if not f.startswith(".")]
    return sorted(out)


def mutate(root, seed, k):
    rng = random.Random(int(seed))
    fs = [f for f in files_of(root) if f.endswith(".bin")]
    for p in rng.sample(fs, min(int(k), len(fs))):
        with open(p, "wb") as f:
            f.write(rng.randbytes(rng.randint(1, 9000)))


def load_events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# the events a scan run itself records (projections derive the others)
SCAN_TYPES = {"mission_dossier_artifact_indexed", "mission_dossier_artifact_missing",
              "dossier_artifact_removed", "dossier_scan_completed"}


def run_events(evs, run):
    return [e for e in evs if e.get("correlation_id") == run and e["event_type"] in SCAN_TYPES]


IGNORED = {"event_id", "timestamp", "lamport_clock", "correlation_id", "causation_id"}


def same_events(path, run_a, run_b):
    evs = load_events(path)
    a, b = run_events(evs, run_a), run_events(evs, run_b)
    if not a:
        fail("run %s has no events" % run_a)
    if len(a) != len(b):
        fail("run %s has %d events, run %s has %d" % (run_a, len(a), run_b, len(b)))
    for x, y in zip(a, b):
        keys = (set(x) | set(y)) - IGNORED
        for k in sorted(keys):
            if x.get(k) != y.get(k):
                fail("field %s differs: %r vs %r (event %s vs %s)"
                     % (k, x.get(k), y.get(k), x.get("event_id"), y.get("event_id")))
    print("same-events: %d events identical" % len(a))


def run_counts(path, run):
    evs = run_events(load_events(path), run)
    n = {"mission_dossier_artifact_indexed": 0, "mission_dossier_artifact_missing": 0,
         "dossier_artifact_removed": 0}
    for e in evs:
        if e["event_type"] in n:
            n[e["event_type"]] += 1
    print(n["mission_dossier_artifact_indexed"], n["mission_dossier_artifact_missing"],
          n["dossier_artifact_removed"])


def cache_behind_log(events_path, dump_path):
    recorded = set()
    for e in load_events(events_path):
        if e["event_type"] == "mission_dossier_artifact_indexed":
            p = e["payload"]
            recorded.add((p["feature_slug"], p["relative_path"], p["content_hash_sha256"]))
    n = 0
    with open(dump_path) as f:
        for line in f:
            feature, path, sha = line.rstrip("\n").split("\t")
            n += 1
            if (feature, path, sha) not in recorded:
                fail("cache entry %s %s %s claims a hash the log never recorded"
                     % (feature, path, sha))
    print("cache-behind-log: %d entries, all recorded" % n)


def same_snapshot(pa, pb):
    with open(pa) as f:
        a = json.load(f)
    with open(pb) as f:
        b = json.load(f)
    for k in ("parity_hash_sha256", "artifact_counts", "completeness_status",
              "missing_required", "artifacts"):
        if a.get(k) != b.get(k):
            if k == "artifacts":
                sa = {(x["artifact_key"], x["relative_path"], x["content_hash_sha256"])
                      for x in a[k]}
                sb = {(x["artifact_key"], x["relative_path"], x["content_hash_sha256"])
                      for x in b[k]}
                fail("artifacts differ: only in %s: %s; only in %s: %s"
                     % (pa, sorted(sa - sb)[:5], pb, sorted(sb - sa)[:5]))
            fail("%s differs: %r vs %r" % (k, a.get(k), b.get(k)))
    print("same-snapshot: parity %s, %d artifacts" % (a["parity_hash_sha256"],
                                                      len(a["artifacts"])))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"gen-tree": gen_tree, "mutate": mutate, "same-events": same_events,
     "run-counts": run_counts, "cache-behind-log": cache_behind_log,
     "same-snapshot": same_snapshot}[cmd](*args)


if __name__ == "__main__":
    main()
