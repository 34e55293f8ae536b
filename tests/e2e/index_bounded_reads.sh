#!/usr/bin/env bash
# index_bounded_reads: `dossier index` reads a bounded amount (issue 17 item 12).
#   - a MISSION_DIR on a pseudo-filesystem (/proc/self: its pagemap reads
#     for gigabytes) is refused at once: exit 3, the filesystem named;
#   - --max-file-size SIZE: larger files are reported unreadable, with the
#     cap in reason_detail and no hash; files at the cap are hashed; a bad
#     SIZE is a usage error;
#   - a sparse file hashes as the same bytes written out;
#   - a FIFO given as --manifest is refused at once, named (item 10).
# /proc/self is only looked at (the dossier process's own view); everything
# written stays in $WORK.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

for root in /proc/self /sys/kernel; do
  [ -d "$root" ] || continue
  rc=0
  timeout 30 "$BIN" index "$root" -q > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || fail "index $root: exit $rc, want 3 ($(head -c 300 "$WORK/err"))"
  grep -q "pseudo-filesystem" "$WORK/err" || fail "index $root: $(head -c 300 "$WORK/err")"
  [ ! -s "$WORK/out" ] || fail "index $root printed artifacts"
done

M="$WORK/m"
mkdir -p "$M"
head -c 1024 /dev/zero | tr '\0' 'a' > "$M/small.txt"     # 1 KiB: at the cap
head -c 1025 /dev/zero | tr '\0' 'b' > "$M/big.txt"       # over it
rc=0
"$BIN" index "$M" --max-file-size 1K -q > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 0 ] || fail "index --max-file-size 1K: exit $rc ($(cat "$WORK/err"))"
grep '"relative_path":"big.txt"' "$WORK/out" | grepq '"content_hash_sha256":null,"size_bytes":1025' \
  || fail "big.txt not reported unread with its size: $(cat "$WORK/out")"
grep '"relative_path":"big.txt"' "$WORK/out" | grepq '"present":false,"reason_code":"unreadable","reason_detail":"larger than the size cap: 1025 bytes, cap 1024; not read"' \
  || fail "big.txt reason: $(grep big.txt "$WORK/out")"
grep '"relative_path":"small.txt"' "$WORK/out" | grepq '"present":true' \
  || fail "small.txt (at the cap) not hashed: $(grep small.txt "$WORK/out")"
# the default cap hashes both
"$BIN" index "$M" -q > "$WORK/out" || fail "index without a cap failed"
[ "$(grep -c '"present":true' "$WORK/out")" -eq 2 ] || fail "default cap: $(cat "$WORK/out")"
for bad in 0 -1 1X 1.5G "" G 99999999999T; do
  rc=0
  "$BIN" index "$M" --max-file-size "$bad" -q > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "--max-file-size '$bad': exit $rc, want 2"
  grep -q -- "--max-file-size" "$WORK/err" || fail "--max-file-size '$bad': $(cat "$WORK/err")"
done

# sparse: 8 MiB with data at both ends, against the same bytes written out
S="$WORK/s"
mkdir -p "$S"
printf 'head' > "$S/sparse.bin"
truncate -s 8M "$S/sparse.bin"
printf 'tail' | dd of="$S/sparse.bin" bs=1 seek=$((8 * 1024 * 1024 - 4)) conv=notrunc 2> /dev/null
cp --sparse=never "$S/sparse.bin" "$S/dense.bin"
want=$(sha256sum < "$S/dense.bin" | cut -d' ' -f1)
"$BIN" index "$S" -q > "$WORK/out" || fail "index of the sparse folder failed"
[ "$(grep -c "\"content_hash_sha256\":\"$want\"" "$WORK/out")" -eq 2 ] \
  || fail "sparse and dense files do not both hash to $want: $(cat "$WORK/out")"
mkfifo "$WORK/fifo.yaml"
rc=0
timeout 20 "$BIN" index "$M" --manifest "$WORK/fifo.yaml" -q > /dev/null 2> "$WORK/err" || rc=$?
[ "$rc" -eq 3 ] || fail "index --manifest FIFO: exit $rc, want 3 (124: it waited for a writer)"
grep -q "fifo.yaml: manifest is not a regular file (a FIFO)" "$WORK/err" \
  || fail "index --manifest FIFO: $(cat "$WORK/err")"
echo "ok"
