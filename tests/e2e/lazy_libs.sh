#!/usr/bin/env bash
# lazy_libs: libcurl and libnats are loaded by the commands that use them,
# not at every start.  The binary does not list them as needed, a scan
# without delivery never maps them, and when the library cannot be loaded
# (DOSSIER_LIBCURL / DOSSIER_LIBNATS pointed at a missing file) deliver,
# endpoint add, publish and pull fail with exit 3 and a message naming the
# file and the Debian package, while scan --deliver still records its run.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

readelf -d "$BIN" > "$WORK/dynamic.txt" || fail "readelf -d"
! grep -E "NEEDED.*(libcurl|libnats)" "$WORK/dynamic.txt" \
  || fail "the binary links libcurl or libnats"

m=$(sample_copy)
L="$WORK/L"
# ld.so names every object it loads (file=...); a scan loads neither
LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/ld" "$BIN" scan "$m" --mission-type software-dev \
  --log "$L" -q > /dev/null || fail "scan"
cat "$WORK"/ld.* > "$WORK/ld-files.txt"
grep -q "file=libc\\." "$WORK/ld-files.txt" || fail "LD_DEBUG=files did not list the loaded objects"
! grep -E "file=[^ ]*(libcurl|libnats)" "$WORK/ld-files.txt" || fail "scan loaded libcurl or libnats"

gone="$WORK/nowhere/libcurl.so.4"
# check_msg FILE LIB PACKAGE: the message names the file that failed and the package
check_msg() {
  grep -q "$2" "$1" && grep -q "cannot be loaded" "$1" && grep -q "Debian package $3" "$1" \
    || { cat "$1"; fail "no clear message for a missing $2"; }
}

rc=0
DOSSIER_LIBCURL="$gone" "$BIN" deliver --url http://127.0.0.1:1/hook --log "$L" -q \
  > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "deliver without libcurl: exit $rc, expected 3"; }
check_msg "$WORK/err" "$gone" libcurl4

rc=0
DOSSIER_LIBCURL="$gone" "$BIN" endpoint add hook --url http://127.0.0.1:1/hook --auto \
  --log "$L" > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "endpoint add without libcurl: exit $rc, expected 3"; }
check_msg "$WORK/err" "$gone" libcurl4
"$BIN" endpoint list --log "$L" > "$WORK/list" || fail "endpoint list"
! grep -q hook "$WORK/list" || fail "endpoint add saved an endpoint without libcurl"

# with libcurl where it belongs the same commands get past loading: the
# endpoint is saved and delivery fails on the network instead
"$BIN" endpoint add hook --url http://127.0.0.1:1/hook --auto --log "$L" > /dev/null \
  || fail "endpoint add with libcurl"
rc=0
"$BIN" deliver --log "$L" -q > "$WORK/out" 2> "$WORK/err" || rc=$?
! grep -q "cannot be loaded" "$WORK/err" || { cat "$WORK/err"; fail "libcurl did not load"; }

# a scan that delivers afterwards still records its run; delivery says why not
before=$("$BIN" events --log "$L" | wc -l)
echo "one more line" >> "$m/plan.md"
rc=0
DOSSIER_LIBCURL="$gone" "$BIN" scan "$m" --mission-type software-dev --log "$L" --deliver \
  > "$WORK/out" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/err"; fail "scan --deliver without libcurl: exit $rc, expected 0"; }
after=$("$BIN" events --log "$L" | wc -l)
[ "$after" -gt "$before" ] || fail "scan --deliver without libcurl recorded nothing"
check_msg "$WORK/err" "$gone" libcurl4

if "$BIN" publish --help > /dev/null 2>&1; then
  gone="$WORK/nowhere/libnats.so"
  for cmd in publish pull; do
    rc=0
    DOSSIER_LIBNATS="$gone" "$BIN" $cmd --nats nats://127.0.0.1:1 --log "$L" \
      > "$WORK/out" 2> "$WORK/err" || rc=$?
    [ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "$cmd without libnats: exit $rc, expected 3"; }
    check_msg "$WORK/err" "$gone" libnats
  done
fi
echo "lazy_libs: neither library is needed by a scan; deliver, endpoint add, scan --deliver, publish and pull name the missing one"
