#!/usr/bin/env python3
"""Write N valid dossier envelopes (NDJSON) for `dossier import`.

Usage: gen_envelopes.py N [--node-id ULID] [--project-uuid UUID] [--features K]
                          [--seed S]

Events are mission_dossier_artifact_indexed envelopes spread over K features
(feature slugs "gen-000", "gen-001", ...), one scan run (correlation_id) per
feature, lamport clocks 1..N, monotonic ULID event_ids.  Deterministic for a
given seed.  Used by the NATS bench and tests to fill a log quickly.
"""
import argparse
import hashlib
import json
import random
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    """26-char ULID from a 48-bit ms timestamp and an 80-bit random int."""
    v = (ms << 80) | rnd
    return "".join(CROCKFORD[(v >> (5 * i)) & 31] for i in range(25, -1, -1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--node-id")
    ap.add_argument("--project-uuid", default="3f0c9a52-6f0e-4c55-9b1e-2f4f7c1d8e21")
    ap.add_argument("--features", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ms = int(time.time() * 1000) - a.n       # leaves room to tick 1 ms per event
    node = a.node_id or ulid(ms, rng.getrandbits(80))
    runs = [ulid(ms, rng.getrandbits(80)) for _ in range(a.features)]
    rnd = rng.getrandbits(79)
    out = sys.stdout
    classes = ("input", "workflow", "output", "evidence", "policy", "runtime")
    for i in range(a.n):
        f = i % a.features
        rnd += 1
        t = ms + i
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t / 1000)) + ".%03dZ" % (t % 1000)
        path = "docs/f%03d/artifact-%07d.md" % (f, i)
        env = {
            "event_id": ulid(t, rnd),
            "event_type": "mission_dossier_artifact_indexed",
            "aggregate_id": "feature/gen-%03d" % f,
            "timestamp": ts,
            "node_id": node,
            "lamport_clock": i + 1,
            "project_uuid": a.project_uuid,
            "correlation_id": runs[f],
            "causation_id": None,
            "schema_version": "1.0.0",
            "payload": {
                "feature_slug": "gen-%03d" % f,
                "artifact_key": "artifact-%07d" % i,
                "artifact_class": classes[i % len(classes)],
                "relative_path": path,
                "content_hash_sha256": hashlib.sha256(path.encode()).hexdigest(),
                "size_bytes": 100 + i % 5000,
                "wp_id": None,
                "step_id": None,
                "required_status": "optional",
            },
        }
        out.write(json.dumps(env, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
