#!/usr/bin/env python3
"""Check the invariants of an exported log (NDJSON from `dossier events`).

Usage: check_log.py [FILE]   (stdin by default)
Checks: no event_id appears twice; every completed scan run (one with a
dossier_scan_completed event) is whole, i.e. has exactly the indexed /
missing / removed events its marker counts; lamport clocks of each node
increase in log order.  Prints a one-line summary
  events=N runs_completed=N runs_incomplete=N
and exits 1 with a message on the first violated invariant.
"""
import json
import sys
from collections import Counter, defaultdict

KIND = {
    "mission_dossier_artifact_indexed": "indexed",
    "mission_dossier_artifact_missing": "missing",
    "dossier_artifact_removed": "removed",
}


def main():
    stream = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    seen = set()
    per_run = defaultdict(Counter)
    completed = {}
    last_lamport = {}
    n = 0
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        ev = json.loads(line)
        n += 1
        eid = ev["event_id"]
        if eid in seen:
            sys.exit(f"line {lineno}: duplicate event_id {eid}")
        seen.add(eid)
        node, lam = ev["node_id"], ev["lamport_clock"]
        if node in last_lamport and lam <= last_lamport[node]:
            sys.exit(f"line {lineno}: lamport {lam} not above {last_lamport[node]} for node {node}")
        last_lamport[node] = lam
        run = ev.get("correlation_id")
        et = ev["event_type"]
        if et in KIND:
            per_run[run][KIND[et]] += 1
        elif et == "dossier_scan_completed":
            if run in completed:
                sys.exit(f"line {lineno}: run {run} completed twice")
            completed[run] = ev["payload"]
    for run, p in completed.items():
        got = per_run.get(run, Counter())
        for kind in ("indexed", "missing", "removed"):
            if got[kind] != p[f"{kind}_count"]:
                sys.exit(f"run {run}: {got[kind]} {kind} events, marker says {p[kind + '_count']}")
    incomplete = [r for r in per_run if r not in completed]
    print(f"events={n} runs_completed={len(completed)} runs_incomplete={len(incomplete)}")


if __name__ == "__main__":
    main()
