#!/usr/bin/env bash
# libdossier.so exports exactly the functions the public headers mark DSR_API:
# nothing private leaks (the library is built with -fvisibility=hidden), and
# nothing documented is missing.  NATS functions are expected only in a build
# with NATS.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
so=$(ls "${DOSSIER_BUILD:?}"/libdossier.so.*.*.* 2>/dev/null | sed -n 1p)
[ -n "$so" ] || fail "libdossier.so not built in $DOSSIER_BUILD"

nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u > "$WORK/exported"
# DSR_API declarations: the name before the first '(' of each marked line
grep -hE '^DSR_API ' "$SRC"/include/dossier/*.h \
  | sed -E 's/\(.*//; s/.*[ *]//' | sort -u > "$WORK/declared"
grep -hE '^DSR_API ' "$SRC"/include/dossier/nats.h \
  | sed -E 's/\(.*//; s/.*[ *]//' | sort -u > "$WORK/nats"
[ -s "$WORK/declared" ] || fail "no DSR_API declaration found in include/dossier"

extra=$(comm -23 "$WORK/exported" "$WORK/declared")
[ -z "$extra" ] || fail "exported but not declared DSR_API in include/dossier/:
$extra"
missing=$(comm -13 "$WORK/exported" "$WORK/declared")
if ! grep -q '^dsr_nats_' "$WORK/exported"; then   # a build without NATS
  missing=$(comm -23 <(echo "$missing" | sed '/^$/d') "$WORK/nats")
fi
[ -z "$missing" ] || fail "declared DSR_API but not exported:
$missing"
grep -qvE '^dsr_' "$WORK/exported" && fail "an export without the dsr_ prefix"
echo "ok: $(wc -l < "$WORK/exported") exported symbols, all public"
