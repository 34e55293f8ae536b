#!/usr/bin/env bash
# log_open_disk_full: every command that opens an existing event log as its
# writer (`scan`, `baseline accept`, `replay`, `verify --repair`) on a full
# disk exits 3 with "No space left on device" (or "File too large" under a
# file size limit) and leaves the log as it was.  They used to die with
# SIGABRT (exit 134) in a RocksDB assertion: the open writes the info LOG,
# OPTIONS, a MANIFEST and a table of the replayed WAL, and after one failed
# write the next one aborts (issue 17, item 9 remainder).  A full tmpfs when
# this user may mount one, else RLIMIT_FSIZE with SIGXFSZ ignored.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy)
mnt="$WORK/mnt"
mkdir -p "$mnt"
mode=rlimit
if [ "${DISK_FULL_MODE:-}" != rlimit ] && [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m tmpfs "$mnt" 2>/dev/null; then
  mode=tmpfs
  trap 'umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; cleanup' EXIT
elif ! command -v prlimit > /dev/null; then
  echo "log_open_disk_full: cannot mount a small filesystem and prlimit is missing: skipped"
  exit 77
fi
log="$mnt/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || [ $? -eq 1 ] || fail "first scan"
n0=$("$BIN" events --log "$log" | wc -l)
[ "$n0" -gt 0 ] || fail "the first scan recorded nothing"

full() {  # cmd...: run it with the disk full (this mode's way)
  if [ "$mode" = tmpfs ]; then
    "$@"
  else
    ( trap '' XFSZ; exec prlimit --fsize=100000 "$@" )
  fi
}
[ "$mode" = rlimit ] || dd if=/dev/zero of="$mnt/fill" bs=4k 2> /dev/null || true

check_full() {  # WHAT cmd...
  local what=$1; shift
  local rc=0
  full "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "$what on a full disk: exit $rc, expected 3 (a crash is 134)"; }
  grep -qiE "no space left|file too large" "$WORK/err" || { cat "$WORK/err"; fail "$what: the error does not say why"; }
  grep -q "event log $log" "$WORK/err" || { cat "$WORK/err"; fail "$what: the error does not name the log"; }
  [ "$(wc -l < "$WORK/err")" -le 2 ] || { cat "$WORK/err"; fail "$what: more than a short error"; }
}
check_full "scan" "$BIN" scan "$m" --mission-type software-dev --log "$log" -q
check_full "baseline accept" "$BIN" baseline accept --log "$log"
check_full "replay" "$BIN" replay --log "$log"
check_full "verify --repair" "$BIN" verify --repair --log "$log"

# Readers still work and the log is as it was.
[ "$("$BIN" events --log "$log" | wc -l)" -eq "$n0" ] || fail "the log changed on a full disk"
rm -f "$mnt/fill"
expect_exit 0 "$BIN" verify --log "$log" -q
"$BIN" baseline accept --log "$log" > /dev/null || fail "baseline accept once there is room"
echo "log_open_disk_full ($mode): scan, baseline accept, replay, verify --repair exit 3 with the reason; log intact"
