#!/usr/bin/env bash
# dossier index: content_hash_sha256 and size_bytes equal sha256sum / stat for
# an empty file, a 1-byte file, 1 MiB + 1 bytes, a 3 GiB sparse file, and
# files on each side of the hasher's block sizes (64 KiB batch slot, 256 KiB
# read block, 1 MiB read-ahead advice) up to several blocks, text ones among
# them with multi-byte UTF-8 across a block boundary (valid) or invalid past
# one; --jobs 1, 2 and 8 print byte-identical NDJSON (large files are
# shared between workers), and so does a run with plain system calls only
# (DOSSIER_IO_URING=0: no batched reads; it leaves out the 3 GiB file, which
# no batch reads), and once the tree is a few seconds old, by the batches'
# one-stat path (the fence).  3 GiB is past 2^31: past an int's range and
# past what one read() returns.  Index computes no XXH3, and a scan (which does, for
# its cache) records the same digests.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M=$WORK/m
mkdir -p "$M/big" "$M/small"
: > "$M/small/empty.txt"
printf 'x' > "$M/small/one.bin"
head -c $((1024 * 1024 + 1)) /dev/urandom > "$M/big/mib-plus-one.bin"
truncate -s 3G "$M/big/sparse-3g.img"
printf 'tail' | dd of="$M/big/sparse-3g.img" bs=1 seek=$((3 * 1024 * 1024 * 1024 - 4)) conv=notrunc status=none
# more files than a small tree holds (scanner/scan.c), so the workers and
# their batched reads run: 122 small files in all
for i in $(seq 1 120); do printf 'file %d\n' "$i" > "$M/small/f$i.md"; done
mkdir -p "$M/edge"
$PY - "$M/edge" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
K = 1024
rng = random.Random(21)
sizes = [64 * K - 1, 64 * K, 64 * K + 1, 256 * K - 1, 256 * K, 256 * K + 1, 512 * K,
         1024 * K - 1, 1024 * K, 3 * 1024 * K + 17]
for n in sizes:
    with open(os.path.join(root, "b%d.bin" % n), "wb") as f:
        f.write(rng.randbytes(n))
# text: a 4-byte sequence starting 2 bytes before the 256 KiB boundary
# (valid), and an invalid byte 1 byte past a boundary
for name, at, seq in (("straddle.md", 256 * K - 2, "\U0001F600".encode()),
                      ("late-bad.md", 2 * 256 * K + 1, b"\xff")):
    body = bytearray(b"a" * (3 * 256 * K))
    body[at:at + len(seq)] = seq
    with open(os.path.join(root, name), "wb") as f:
        f.write(body)
PYEOF

"$BIN" index "$M" --jobs 8 > "$WORK/out8.ndjson" 2> "$WORK/err8" || fail "index --jobs 8 failed: $(cat "$WORK/err8")"
"$BIN" index "$M" --jobs 1 > "$WORK/out1.ndjson" 2> /dev/null || fail "index --jobs 1 failed"
cmp -s "$WORK/out1.ndjson" "$WORK/out8.ndjson" || fail "--jobs 1 and --jobs 8 differ"
# Only small files are read in batches through io_uring; a large one is read
# with plain read() either way (scanner/hash_file.c), so the plain run
# leaves out the 3 GiB file, which the other runs hash.
DOSSIER_IO_URING=0 "$BIN" index "$M" --jobs 2 --exclude big/sparse-3g.img > "$WORK/plain.ndjson" \
  2> /dev/null || fail "index with DOSSIER_IO_URING=0 failed"
grep -v '"relative_path":"big/sparse-3g.img"' "$WORK/out8.ndjson" > "$WORK/out8-small.ndjson"
[ "$(wc -l < "$WORK/out8-small.ndjson")" -eq 135 ] || fail "the sparse file's line not found once"
cmp -s "$WORK/plain.ndjson" "$WORK/out8-small.ndjson" || fail "plain system calls and batched reads differ"
for j in 2; do
  "$BIN" index "$M" --jobs $j > "$WORK/out$j.ndjson" 2> /dev/null || fail "index --jobs $j failed"
  cmp -s "$WORK/out$j.ndjson" "$WORK/out8.ndjson" || fail "--jobs $j and --jobs 8 differ"
done
[ "$(wc -l < "$WORK/out8.ndjson")" -eq 136 ] || fail "expected 136 artifacts, got $(wc -l < "$WORK/out8.ndjson")"

# One stat per file read (the fence, scanner/hash_file.c): a batch trusts
# the stat after its read only for a file changed more than two seconds
# before the batch began, so the runs above, on files written just now,
# stat'ed each small file before and after its read.  Three seconds later
# the batches take the one-stat path: the same NDJSON, and (where strace is
# installed) fewer stats than a copy of the small files made just now.
sleep 3
"$BIN" index "$M" --jobs 2 > "$WORK/aged.ndjson" 2> /dev/null || fail "index of the aged tree failed"
cmp -s "$WORK/aged.ndjson" "$WORK/out8.ndjson" || fail "the one-stat path and the two-stat path differ"
if command -v strace > /dev/null; then
  stats() {  # folder -> newfstatat calls of an index of it (LeakSanitizer cannot run under ptrace)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
      strace -f -qq -c -e trace=newfstatat -o "$WORK/stats.txt" "$BIN" index "$1" --jobs 1 > /dev/null 2>&1 \
      || fail "index $1 under strace failed"
    awk '$NF == "newfstatat" { print $4 }' "$WORK/stats.txt"
  }
  aged=$(stats "$M/small")
  cp -r "$M/small" "$WORK/fresh"     # indexed at once: well inside the two seconds
  fresh=$(stats "$WORK/fresh")
  [ -n "$aged" ] && [ -n "$fresh" ] || fail "no stat counts: aged '$aged', fresh '$fresh'"
  # 122 files: about one stat each aged, two each fresh
  [ "$aged" -lt "$fresh" ] && [ $((fresh - aged)) -ge 90 ] \
    || fail "aged tree made $aged stats, fresh copy $fresh: the fence did not save one per file"
fi

# Every hash and size against sha256sum and stat, file by file.  The sparse
# file's content is fixed (3 GiB - 4 zero bytes, then "tail"), so its digest
# is written here rather than read again by sha256sum.
sparse_sha256=2836abd0ab5efa4a076a69934d4eafdf66425cb75cf40fbad90cd134c88c57ce
{ (cd "$M" && find . -type f ! -path ./big/sparse-3g.img -printf '%P\0' | xargs -0 sha256sum)
  printf '%s  big/sparse-3g.img\n' "$sparse_sha256"; } | sort -k2 > "$WORK/want.txt"
$PY - "$WORK/out8.ndjson" "$WORK/want.txt" "$M" <<'PYEOF'
import json, os, sys
out, want, root = sys.argv[1:4]
got = {}
paths = []
for line in open(out):
    o = json.loads(line)
    got[o["relative_path"]] = o
    paths.append(o["relative_path"])
assert paths == sorted(paths, key=lambda p: p.encode()), "not sorted by relative_path"
n = 0
for line in open(want):
    digest, path = line.rstrip("\n").split("  ", 1)
    o = got[path]
    assert o["content_hash_sha256"] == digest, (path, o["content_hash_sha256"], digest)
    assert o["size_bytes"] == os.path.getsize(os.path.join(root, path)), path
    if path == "edge/late-bad.md":
        assert o["present"] is False and o["reason_code"] == "invalid_format", o
        assert o["reason_detail"] == "invalid UTF-8 at byte offset 524289", o
    else:
        assert o["present"] is True and o["reason_code"] is None, path
    n += 1
assert n == len(got) == 136, (n, len(got))
PYEOF
grep -q '"relative_path":"big/sparse-3g.img".*"size_bytes":3221225472' "$WORK/out8.ndjson" \
  || fail "sparse file size not reported"
grep -q 'completeness: unknown' "$WORK/err8" || fail "summary without manifest should say unknown"

# A scan computes XXH3 for its cache; its recorded digests are index's.
"$BIN" scan "$M" --log "$WORK/log" --jobs 2 -q > /dev/null 2> "$WORK/scan.err" \
  || fail "scan failed: $(cat "$WORK/scan.err")"
"$BIN" snapshot --log "$WORK/log" --artifacts --json > "$WORK/snap.json" 2> "$WORK/snap.err" \
  || fail "snapshot failed: $(cat "$WORK/snap.err")"
$PY - "$WORK/out8.ndjson" "$WORK/snap.json" <<'PYEOF'
import json, sys
idx = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    idx[o["relative_path"]] = o["content_hash_sha256"]
snap = json.load(open(sys.argv[2]))
arts = snap["artifacts"]
seen = 0
for a in arts:
    p = a.get("relative_path")
    h = a.get("content_hash_sha256")
    if p in idx and h:
        assert h == idx[p], (p, h, idx[p])
        seen += 1
assert seen == 135, seen   # all but the invalid one
PYEOF
echo "ok"
