#!/usr/bin/env bash
# dossier index: content_hash_sha256 and size_bytes equal sha256sum / stat for
# an empty file, a 1-byte file, 1 MiB + 1 bytes, and a 3 GiB sparse file;
# --jobs 1 and --jobs 8 print byte-identical NDJSON, and so does a run with
# plain system calls only (DOSSIER_IO_URING=0: no batched reads).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M=$WORK/m
mkdir -p "$M/big" "$M/small"
: > "$M/small/empty.txt"
printf 'x' > "$M/small/one.bin"
head -c $((1024 * 1024 + 1)) /dev/urandom > "$M/big/mib-plus-one.bin"
truncate -s 3G "$M/big/sparse-3g.img"
printf 'tail' | dd of="$M/big/sparse-3g.img" bs=1 seek=$((3 * 1024 * 1024 * 1024 - 4)) conv=notrunc status=none
for i in $(seq 1 40); do printf 'file %d\n' "$i" > "$M/small/f$i.md"; done

"$BIN" index "$M" --jobs 8 > "$WORK/out8.ndjson" 2> "$WORK/err8" || fail "index --jobs 8 failed: $(cat "$WORK/err8")"
"$BIN" index "$M" --jobs 1 > "$WORK/out1.ndjson" 2> /dev/null || fail "index --jobs 1 failed"
cmp -s "$WORK/out1.ndjson" "$WORK/out8.ndjson" || fail "--jobs 1 and --jobs 8 differ"
DOSSIER_IO_URING=0 "$BIN" index "$M" --jobs 2 > "$WORK/plain.ndjson" 2> /dev/null \
  || fail "index with DOSSIER_IO_URING=0 failed"
cmp -s "$WORK/plain.ndjson" "$WORK/out8.ndjson" || fail "plain system calls and batched reads differ"
[ "$(wc -l < "$WORK/out8.ndjson")" -eq 44 ] || fail "expected 44 artifacts, got $(wc -l < "$WORK/out8.ndjson")"

# Every hash and size against sha256sum and stat, file by file.
(cd "$M" && find . -type f -printf '%P\0' | xargs -0 sha256sum) | sort -k2 > "$WORK/want.txt"
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
    assert o["present"] is True and o["reason_code"] is None, path
    n += 1
assert n == len(got) == 44, (n, len(got))
PYEOF
grep -q '"relative_path":"big/sparse-3g.img".*"size_bytes":3221225472' "$WORK/out8.ndjson" \
  || fail "sparse file size not reported"
grep -q 'completeness: unknown' "$WORK/err8" || fail "summary without manifest should say unknown"
echo "ok"
