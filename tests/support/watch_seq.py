#!/usr/bin/python3
"""Drive `dossier watch` through sequences of file-system changes and check,
after each sequence settles, that the watched log's latest snapshot equals a
fresh `dossier scan` of the same tree, and that the runs recorded hold exactly
the changes: the artifacts new or changed since the previous fresh scan
(indexed), the ones gone (removed), the required ones missing now (missing,
once per recorded run) - and no run at all when nothing a snapshot holds
changed.

  watch_seq.py BIN WORK scripted
  watch_seq.py BIN WORK random SEED STEPS SECONDS
  watch_seq.py BIN WORK stream SECONDS     (changes only, for the kill loop)

The watcher runs with --json; its lines tell when a run was recorded.  Every
wait is bounded; a failure names the sequence (and the seed).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

DEBOUNCE_MS = 150
SETTLE_S = 20.0          # bound on one sequence settling
QUIET_S = 0.4            # no new run for this long: settled


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Watcher:
    def __init__(self, binary, mission, log, extra=()):
        self.bin, self.mission, self.log = binary, mission, log
        self.p = subprocess.Popen([binary, "watch", mission, "--log", log, "--json",
                                   "--debounce", str(DEBOUNCE_MS), "--mission-type",
                                   "software-dev", *extra],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.runs, self.stderr = [], []
        self.last_run_at = time.monotonic()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.runs.append(json.loads(line))
                self.last_run_at = time.monotonic()

    def _read_err(self):
        for line in self.p.stderr:
            self.stderr.append(line)

    def n_runs(self):
        with self.lock:
            return len(self.runs)

    def wait_runs(self, n, what):
        end = time.monotonic() + SETTLE_S
        while self.n_runs() < n:
            if self.p.poll() is not None:
                fail("%s: watch exited %s: %s" % (what, self.p.returncode, "".join(self.stderr)))
            if time.monotonic() > end:
                fail("%s: no run recorded within %.0f s" % (what, SETTLE_S))
            time.sleep(0.02)

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            rc = self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("watch did not stop within 20 s of SIGINT")
        if rc != 0:
            fail("watch exited %d after SIGINT: %s" % (rc, "".join(self.stderr)))


def run(cmd, ok=(0, 1)):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode not in ok:
        fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def snapshot(binary, log):
    out = run([binary, "snapshot", "--log", log, "--json", "--artifacts"], ok=(0, 1, 3))
    try:
        return json.loads(out)
    except ValueError:
        return None


def fresh(binary, mission, work):
    """A full scan reading every file (--rehash): its snapshot is what a
    scan of a new log gets (one log kept: creating one costs fsyncs)."""
    log = os.path.join(work, "fresh")
    run([binary, "scan", mission, "--log", log, "--mission-type", "software-dev", "-q",
         "--rehash"])
    return snapshot(binary, log)


def art_set(s):
    return {(a["artifact_key"], a["relative_path"], a["content_hash_sha256"],
             a["artifact_class"], a["required_status"]) for a in s["artifacts"]}


def same(a, b):
    if not a or not b:
        return False
    return all(a.get(k) == b.get(k) for k in ("parity_hash_sha256", "artifact_counts",
                                              "completeness_status", "missing_required")) \
        and art_set(a) == art_set(b)


def expected(old, new):
    """(indexed, removed, changed_at_all) between two fresh snapshots."""
    o, n = art_set(old), art_set(new)
    okp = {(a[0], a[1]) for a in o}
    nkp = {(a[0], a[1]) for a in n}
    changed = o != n or old["missing_required"] != new["missing_required"] \
        or old["artifact_counts"] != new["artifact_counts"]
    return len(n - o), len(okp - nkp), changed


def settle(w, binary, mission, work, since, parity, what):
    """Wait until the watcher's latest recorded run has the parity hash of a
    fresh scan (parity: the one before the sequence) and no run came for
    QUIET_S; returns (fresh snapshot, runs recorded since index since).  The
    run lines carry the parity hash their snapshot got, so the log need not
    be opened while waiting; the whole snapshot is compared at the end.  The
    sequence's changes are all made before this is called, so one fresh
    scan is the tree's final state."""
    end = time.monotonic() + SETTLE_S
    want = fresh(binary, mission, work)
    last_fresh = time.monotonic()
    while True:
        if w.p.poll() is not None:
            fail("%s: watch exited %s: %s" % (what, w.p.returncode, "".join(w.stderr)))
        now = time.monotonic()
        with w.lock:
            runs = w.runs[since:]
            got = runs[-1]["parity_hash_sha256"] if runs else parity
            quiet = now - w.last_run_at >= QUIET_S and now - last_fresh >= QUIET_S
        if got == want["parity_hash_sha256"] and quiet:
            return want, runs
        if now > end:
            fail("%s: not settled within %.0f s: watched parity %s, fresh %s"
                 % (what, SETTLE_S, got, want["parity_hash_sha256"]))
        time.sleep(0.05)


def has_links(m):
    for dp, dns, fs in os.walk(m):
        dns[:] = [d for d in dns if not d.startswith(".")]
        if any(os.path.islink(os.path.join(dp, f)) for f in fs + dns):
            return True
    return False


def check_runs(what, runs, old, new, hand=None, linked=False):
    """linked: the tree held a symlink when the sequence began, so its runs
    rescan the whole tree; otherwise every run (but a fallback after lost
    events) must have scanned the changed paths only."""
    for r in runs:
        want = not linked and not r["fallback"]
        if r["paths_only"] != want:
            fail("%s: run %d scanned %s, expected %s" % (
                what, r["run"], "the changed paths only" if r["paths_only"] else "the whole tree",
                "the changed paths only" if want else "the whole tree"))
    ind, rem, changed = expected(old, new)
    got_i = sum(r["events"]["indexed"] for r in runs)
    got_r = sum(r["events"]["removed"] for r in runs)
    got_m = sum(r["events"]["missing"] for r in runs)
    want_m = len(new["missing_required"]) * len(runs)
    if not changed and runs:
        fail("%s: nothing changed, yet %d run(s) recorded" % (what, len(runs)))
    if changed and len(runs) != 1:
        fail("%s: %d runs recorded, expected one (the sequence is one burst)"
             % (what, len(runs)))
    if (got_i, got_r, got_m) != (ind, rem, want_m):
        fail("%s: events (indexed removed missing) %d %d %d, the changes are %d %d %d"
             % (what, got_i, got_r, got_m, ind, rem, want_m))
    if hand is not None and (got_i, got_m, got_r) != hand:
        fail("%s: events (indexed missing removed) %s, expected %s"
             % (what, (got_i, got_m, got_r), hand))


# ---- the scripted sequences ---------------------------------------------

def wr(p, text, mode="w"):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, mode) as f:
        f.write(text)


def scripted(m, outside):
    """(name, action, (indexed, missing, removed) expected)."""
    j = lambda *a: os.path.join(m, *a)
    return [
        ("create", lambda: wr(j("notes", "n1.md"), "# note 1\n"), (1, 0, 0)),
        ("modify", lambda: wr(j("notes", "n1.md"), "more\n", "a"), (1, 0, 0)),
        ("same-content rewrite", lambda: wr(j("notes", "n1.md"), "# note 1\nmore\n"),
         (0, 0, 0)),
        ("chmod", lambda: os.chmod(j("notes", "n1.md"), 0o640), (0, 0, 0)),
        ("touch", lambda: os.utime(j("plan.md")), (0, 0, 0)),
        ("rename within", lambda: os.rename(j("notes", "n1.md"), j("notes", "n2.md")),
         (1, 0, 1)),
        ("rename out", lambda: os.rename(j("notes", "n2.md"), os.path.join(outside, "n2.md")),
         (0, 0, 1)),
        ("rename in", lambda: os.rename(os.path.join(outside, "n2.md"), j("n3.md")), (1, 0, 0)),
        ("delete", lambda: os.unlink(j("n3.md")), (0, 0, 1)),
        ("editor: temp + rename over", lambda: (wr(j("plan.md.tmp~"), "# plan, saved\n"),
                                                os.rename(j("plan.md.tmp~"), j("plan.md"))),
         (1, 0, 0)),
        ("editor: hidden swap file", lambda: (wr(j(".plan.md.swp"), "x"),
                                              os.unlink(j(".plan.md.swp"))), (0, 0, 0)),
        ("editor: truncate + rewrite", lambda: (wr(j("research.md"), ""),
                                                wr(j("research.md"), "# research v2\n")),
         (1, 0, 0)),
        ("editor: delete + recreate", lambda: (os.unlink(j("tasks.md")),
                                               wr(j("tasks.md"), "# tasks v2\n")), (1, 0, 0)),
        ("mkdir -p deep with files", lambda: [wr(j("d1", "d2", "d3", "d4", "f%d.txt" % i),
                                                 "deep %d\n" % i) for i in range(3)],
         (3, 0, 0)),
        ("file in a new folder moved in", lambda: (os.makedirs(os.path.join(outside, "pkg", "sub")),
                                                   wr(os.path.join(outside, "pkg", "sub", "x.txt"), "x\n"),
                                                   os.rename(os.path.join(outside, "pkg"), j("pkg"))),
         (1, 0, 0)),
        ("a file in the moved-in folder", lambda: wr(j("pkg", "sub", "y.txt"), "y\n"), (1, 0, 0)),
        ("folder renamed, then a file in it", lambda: (os.rename(j("d1"), j("e1")),
                                                      wr(j("e1", "d2", "new.txt"), "new\n")),
         (4, 0, 3)),
        ("rm -rf a folder", lambda: shutil.rmtree(j("e1")), (0, 0, 4)),
        ("symlink to a file", lambda: os.symlink("plan.md", j("plan-link.md")), (1, 0, 0)),
        ("symlink retargeted", lambda: (os.unlink(j("plan-link.md")),
                                        os.symlink("research.md", j("plan-link.md"))), (1, 0, 0)),
        ("symlink removed", lambda: os.unlink(j("plan-link.md")), (0, 0, 1)),
        ("required file deleted", lambda: os.unlink(j("spec.md")), (0, 1, 1)),
        ("required file restored", lambda: wr(j("spec.md"), "# spec\n"), (1, 0, 0)),
        ("folder moved out", lambda: os.rename(j("pkg"), os.path.join(outside, "pkg-out")),
         (0, 0, 2)),
        ("folder moved back in", lambda: os.rename(os.path.join(outside, "pkg-out"), j("pkg")),
         (2, 0, 0)),
        ("required file moved out", lambda: os.rename(j("spec.md"),
                                                      os.path.join(outside, "spec.md")),
         (0, 1, 1)),
        ("required file moved back", lambda: os.rename(os.path.join(outside, "spec.md"),
                                                       j("spec.md")), (1, 0, 0)),
        (".dossierignore excludes a folder", lambda: wr(j(".dossierignore"), "pkg/\n"),
         (0, 0, 2)),
        (".dossierignore re-includes it", lambda: wr(j(".dossierignore"), "# none\n"),
         (2, 0, 0)),
        ("nested .dossierignore excludes a file", lambda: wr(j("pkg", "sub", ".dossierignore"),
                                                             "y.txt\n"), (0, 0, 1)),
        ("nested .dossierignore removed", lambda: os.unlink(j("pkg", "sub", ".dossierignore")),
         (1, 0, 0)),
        (".dossierignore excludes the required file", lambda: wr(j(".dossierignore"),
                                                                 "spec.md\n"), (0, 1, 1)),
        (".dossierignore removed", lambda: os.unlink(j(".dossierignore")), (1, 0, 0)),
        ("rm -rf of a deep folder with files", lambda: (
            [wr(j("q1", "q2", "f%d.txt" % i), "q %d\n" % i) for i in range(3)]), (3, 0, 0)),
        ("... removed", lambda: shutil.rmtree(j("q1")), (0, 0, 3)),
    ]


def random_step(rng, m, outside, k):
    files = []
    dirs = [m]
    for dp, dns, fs in os.walk(m):
        dns[:] = [d for d in dns if not d.startswith(".")]
        dirs += [os.path.join(dp, d) for d in dns]
        files += [os.path.join(dp, f) for f in fs if not f.startswith(".")]
    op = rng.choice(["create", "create", "modify", "rewrite", "chmod", "rename", "out",
                     "delete", "mkdirp", "rmrf", "tmpsave"])
    name = "r%d-%d.txt" % (k, rng.randint(0, 999))
    if op == "create" or not files:
        wr(os.path.join(rng.choice(dirs), name), "created %d\n" % rng.randint(0, 5))
    elif op == "modify":
        wr(rng.choice(files), "+%d\n" % rng.randint(0, 9), "a")
    elif op == "rewrite":
        p = rng.choice(files)
        data = open(p, "rb").read()
        open(p, "wb").write(data)
    elif op == "chmod":
        os.chmod(rng.choice(files), rng.choice([0o600, 0o644]))
    elif op == "rename":
        os.rename(rng.choice(files), os.path.join(rng.choice(dirs), name))
    elif op == "out":
        os.rename(rng.choice(files), os.path.join(outside, name))
    elif op == "delete":
        os.unlink(rng.choice(files))
    elif op == "mkdirp":
        d = os.path.join(rng.choice(dirs), *["x%d" % rng.randint(0, 3) for _ in range(3)])
        for i in range(rng.randint(1, 3)):
            wr(os.path.join(d, "%d-%s" % (i, name)), "deep %d\n" % i)
    elif op == "rmrf":
        cand = [d for d in dirs if d != m]
        if cand:
            shutil.rmtree(rng.choice(cand))
    elif op == "tmpsave":
        p = rng.choice(files)
        wr(p + ".tmp", "saved %d\n" % rng.randint(0, 99))
        os.rename(p + ".tmp", p)
    return op


def main():
    binary, work, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    m = os.path.join(work, "mission")
    outside = os.path.join(work, "outside")
    os.makedirs(outside, exist_ok=True)
    log = os.path.join(work, "log")
    if mode == "stream":
        # changes only, for as long as asked (the kill loop watches)
        rng = random.Random(int(sys.argv[4]))
        end = time.monotonic() + float(sys.argv[5])
        k = 0
        while time.monotonic() < end:
            random_step(rng, m, outside, k)
            k += 1
            time.sleep(rng.uniform(0, 0.05))
        print("stream: %d changes" % k)
        return
    w = Watcher(binary, m, log)
    w.wait_runs(1, "starting scan")
    old, _ = settle(w, binary, m, work, 1, w.runs[0]["parity_hash_sha256"], "starting scan")
    if mode == "scripted":
        for name, action, hand in scripted(m, outside):
            since = w.n_runs()
            linked = has_links(m)
            action()
            new, runs = settle(w, binary, m, work, since, old["parity_hash_sha256"], name)
            check_runs(name, runs, old, new, hand, linked)
            old = new
        steps = len(scripted(m, outside))
    else:
        seed, n, seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        rng = random.Random(seed)
        end = time.monotonic() + seconds
        steps = 0
        while steps < n and time.monotonic() < end:
            since = w.n_runs()
            ops = [random_step(rng, m, outside, steps * 10 + i)
                   for i in range(rng.randint(1, 4))]
            what = "seed %d step %d (%s)" % (seed, steps, " ".join(ops))
            new, runs = settle(w, binary, m, work, since, old["parity_hash_sha256"], what)
            check_runs(what, runs, old, new, linked=has_links(m))
            old = new
            steps += 1
    w.stop()
    if not same(snapshot(binary, log), fresh(binary, m, work)):
        fail("%s: the final snapshot differs from a fresh scan" % mode)
    print("%s: %d sequences, %d runs recorded" % (mode, steps, len(w.runs)))


if __name__ == "__main__":
    main()
