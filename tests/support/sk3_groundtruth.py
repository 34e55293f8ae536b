#!/usr/bin/env python3
"""Compute spec-kitty's own dossier values for a mission folder (ground truth
for the spec-kitty-3 profile) and print them as expected.json.

This runs spec-kitty's indexer, WP projection hasher and snapshot code from a
local checkout; it is a generator for tests/data/interop/*/expected.json, not
part of any test run (the tests compare against the committed JSON).

    SPEC_KITTY_SRC=/tmp/sk/src SK3_PYEXTRA=/tmp/pyext \\
        python3 tests/support/sk3_groundtruth.py MISSION_DIR MISSION_TYPE STEP_ID \\
        [--manifest FILE] [--commit SHA] > expected.json

Needs a Python with pydantic 2 and ruamel.yaml (SK3_PYEXTRA may name a folder
holding a ruamel/ package to add to sys.path). spec-kitty's package __init__
files pull in its whole CLI (typer, rich, ulid); only the dossier, status and
manifest modules are needed, so those packages are registered as bare
namespace modules and their __init__ is never run.  Every value printed comes
from spec-kitty's own functions; this file only collects and formats them.
"""
import argparse
import hashlib
import json
import logging
import os
import sys
import types
from pathlib import Path


def _load_upstream(src):
    sys.path[:0] = [src] + ([os.environ["SK3_PYEXTRA"]] if os.environ.get("SK3_PYEXTRA") else [])
    for name in ("specify_cli", "specify_cli.dossier", "charter", "doctrine", "specify_cli.status",
                 "specify_cli.identity", "specify_cli.core", "specify_cli.retrospective"):
        mod = types.ModuleType(name)
        mod.__path__ = [os.path.join(src, *name.split("."))]
        sys.modules[name] = mod
    # The two names the dossier code imports from the specify_cli.status facade.
    import specify_cli.status.wp_metadata as wp_metadata
    import specify_cli.status.dup_key_repair as dup_key_repair
    sys.modules["specify_cli.status"].read_wp_frontmatter = wp_metadata.read_wp_frontmatter
    sys.modules["specify_cli.status"].find_duplicate_keys_in_text = dup_key_repair.find_duplicate_keys_in_text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mission_dir")
    ap.add_argument("mission_type")
    ap.add_argument("step_id")
    ap.add_argument("--manifest", help="expected-artifacts.yaml to use instead of the built-in one")
    ap.add_argument("--commit", default="unknown", help="spec-kitty commit id, recorded in the output")
    args = ap.parse_args()
    src = os.environ.get("SPEC_KITTY_SRC")
    if not src:
        sys.exit("sk3_groundtruth: set SPEC_KITTY_SRC to a spec-kitty checkout's src/ folder")
    _load_upstream(src)
    logging.basicConfig(level=logging.CRITICAL)

    from specify_cli.dossier.indexer import Indexer, _is_wp_artifact
    from specify_cli.dossier.manifest import ManifestRegistry
    from specify_cli.dossier.snapshot import compute_snapshot, present_projection
    from specify_cli.dossier.hasher import wp_static_projection, hash_wp_static_projection
    from specify_cli.status import read_wp_frontmatter

    if args.manifest:
        from charter.missions import ExpectedArtifactManifest
        from ruamel.yaml import YAML
        parsed = YAML(typ="safe").load(Path(args.manifest).read_text(encoding="utf-8"))
        ManifestRegistry._cache[(args.mission_type, ())] = ExpectedArtifactManifest.model_validate(parsed)

    mission = Path(args.mission_dir).resolve()
    dossier = Indexer(ManifestRegistry()).index_feature(mission, args.mission_type, args.step_id)
    snap = compute_snapshot(dossier)

    artifacts = []
    for a in sorted(dossier.artifacts, key=lambda a: (a.relative_path, a.artifact_key)):
        ghost = a.error_reason == "not_found"
        entry = {
            "path": a.relative_path,
            "present": a.is_present,
            "hash": a.content_hash_sha256 or None,
            "artifact_key": a.artifact_key,
            "artifact_class": a.artifact_class,
            "required_status": a.required_status,
            # spec-kitty puts the pydantic message after "wp frontmatter invalid: "; keep the tag.
            "error_reason": a.error_reason.split(":")[0] if a.error_reason else None,
        }
        if ghost:
            entry["ghost"] = True  # a missing required artifact; "path" is the manifest pattern
        else:
            f = mission / a.relative_path
            entry["size_bytes"] = a.size_bytes
            entry["raw_sha256"] = hashlib.sha256(f.read_bytes()).hexdigest()
            entry["wp_file"] = _is_wp_artifact(f)
            if entry["wp_file"] and a.is_present:
                try:
                    meta, _ = read_wp_frontmatter(f)
                except Exception:  # no usable frontmatter: spec-kitty fell back to raw bytes
                    entry["hashed_as"] = "raw"
                else:
                    entry["hashed_as"] = "wp_projection"
                    entry["wp_projection_json"] = json.dumps(
                        wp_static_projection(meta), sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False, default=str)
                    assert hash_wp_static_projection(meta) == a.content_hash_sha256
            elif a.is_present:
                entry["hashed_as"] = "raw"
        artifacts.append(entry)

    lines = [f"{p}\t{h}" for p, h in sorted(present_projection(dossier.artifacts))]
    out = {
        "generated_by": "tests/support/sk3_groundtruth.py",
        "upstream": {"repository": "Priivacy-ai/spec-kitty", "commit": args.commit},
        "mission_type": args.mission_type,
        "step_id": args.step_id,
        "manifest": os.path.basename(args.manifest) if args.manifest else "built-in",
        "artifacts": artifacts,
        "present": {p: h for p, h in sorted(present_projection(dossier.artifacts))},
        "snapshot_lines": lines,
        "snapshot_hash": snap.parity_hash_sha256,
        "completeness_status": snap.completeness_status,
    }
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
