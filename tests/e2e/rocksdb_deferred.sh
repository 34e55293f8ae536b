#!/usr/bin/env bash
# rocksdb_deferred: where the binary links RocksDB's static archive, the
# archive's static initialisers sit in a section of their own, which the
# dynamic loader does not run (cli/rocksdb_deferred.ld), and run before the
# binary's first call into RocksDB (cli/rocksdb_deferred.c).  Checked here:
#   1. the section is there and holds the archive's C++ initialisers;
#   2. every entry point of RocksDB's C API that the library calls and that
#      takes no RocksDB object -- any of them can be a first call -- is
#      wrapped, so it runs the initialisers first (a new call site of an
#      unwrapped one fails here, naming it);
#   3. commands on both sides work: index, which never reaches RocksDB, and
#      scan, status, events and verify on a log.
# Skipped (77) where the binary links librocksdb.so.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

readelf -S -W "$BIN" > "$WORK/sections.txt" || fail "readelf -S"
if ! grep -q '\.dossier_rocksdb_init' "$WORK/sections.txt"; then
  readelf -d "$BIN" | grepq 'NEEDED.*librocksdb' \
    || fail "the binary neither links librocksdb.so nor defers the archive's initialisers"
  echo "rocksdb_deferred: the binary links librocksdb.so"; exit 77
fi
core=${DOSSIER_BUILD:?}/libdossier_core.a
[ -f "$core" ] || fail "no $core"
incdir=$(pkg-config --variable=includedir rocksdb 2>/dev/null || echo /usr/include)
[ -f "$incdir/rocksdb/c.h" ] || fail "no rocksdb/c.h under $incdir"

# 1 and 2, from the binary's sections and symbols, the library's undefined
# symbols and the C API's prototypes
"$PY" - "$BIN" "$core" "$incdir/rocksdb/c.h" <<'PYEOF' || fail "see above"
import re, struct, subprocess, sys
binary, core, header = sys.argv[1:]

def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

# 1. the section's entries, read from the file (link-time addresses), name
# C++ static initialisers
sec = None
for line in run("readelf", "-S", "-W", binary).splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[1] == ".dossier_rocksdb_init":
        sec = (int(f[3], 16), int(f[4], 16), int(f[5], 16))   # addr, offset, size
if not sec or sec[2] == 0 or sec[2] % 8:
    sys.exit("FAIL: .dossier_rocksdb_init missing or empty: %r" % (sec,))
with open(binary, "rb") as fh:
    fh.seek(sec[1])
    entries = struct.unpack("<%dQ" % (sec[2] // 8), fh.read(sec[2]))
syms = {}
for line in run("nm", binary).splitlines():
    f = line.split()
    if len(f) == 3 and f[1] in "tT":
        syms[int(f[0], 16)] = f[2]
named = [syms.get(a, "?%x" % a) for a in entries]
odd = [n for n in named if not n.startswith("_GLOBAL__sub_I_")]
if odd:
    sys.exit("FAIL: entries of .dossier_rocksdb_init that are no C++ initialisers: %s" % odd[:5])

# 2. the C API's prototypes: name -> parameter list
text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", open(header).read(), flags=re.S)
text = re.sub(r"\s+", " ", text)
protos = {m.group(1): m.group(2) for m in
          re.finditer(r"ROCKSDB_LIBRARY_API [^;()]*?\b(rocksdb_\w+) ?\(([^()]*)\) ?;", text)}
used = set()
for line in run("nm", "-A", core).splitlines():
    f = line.split()
    if len(f) >= 3 and f[-2] == "U" and f[-1].startswith("rocksdb_"):
        used.add(f[-1])
wrapped = {n[len("__wrap_"):] for n in syms.values() if n.startswith("__wrap_rocksdb_")}
if not used:
    sys.exit("FAIL: the library calls no rocksdb_ function? (nm -A %s)" % core)
# rocksdb_free and the *_destroy functions free what an earlier call
# returned, so they are never first
missing, unknown = [], []
for name in sorted(n for n in used if n != "rocksdb_free" and not n.endswith("_destroy")):
    if name not in protos:
        unknown.append(name)
    elif not re.search(r"\brocksdb_(\w+_)?t\b", protos[name]) and name not in wrapped:
        missing.append(name)
if unknown:
    sys.exit("FAIL: no prototype in %s for %s" % (header, unknown))
if missing:
    sys.exit("FAIL: RocksDB entry points the library calls without a RocksDB object, not "
             "wrapped by cli/rocksdb_deferred.c (add a DEFERRED line): %s" % missing)
print("rocksdb_deferred: %d initialisers set apart; %d C API functions used, %d wrapped"
      % (len(entries), len(used), len(wrapped)))
PYEOF

# 3. both sides of the split
m=$(sample_copy)
"$BIN" index "$m" --mission-type software-dev > "$WORK/index.ndjson" 2> "$WORK/err" \
  || { cat "$WORK/err"; fail "index"; }
files=$(find "$m" -type f -not -name '.*' | wc -l)
[ "$(grep -c '"present":true' "$WORK/index.ndjson")" -eq "$files" ] \
  || fail "index did not print the $files files of the mission as present"
L="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$L" -q > /dev/null || fail "scan"
echo "one more line" >> "$m/plan.md"
"$BIN" scan "$m" --mission-type software-dev --log "$L" -q > /dev/null || fail "second scan"
"$BIN" status --log "$L" > "$WORK/status" || fail "status"
grep -q "complete" "$WORK/status" || { cat "$WORK/status"; fail "status shows no completeness"; }
[ "$("$BIN" events --log "$L" --type mission_dossier_snapshot_computed | wc -l)" -eq 2 ] \
  || fail "events: not two snapshots"
"$BIN" verify --log "$L" > "$WORK/verify" || { cat "$WORK/verify"; fail "verify"; }
echo "rocksdb_deferred: ok"
