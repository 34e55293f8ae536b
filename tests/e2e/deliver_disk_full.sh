#!/usr/bin/env bash
# deliver_disk_full: `endpoint add` and `deliver` on a full disk (a full
# tmpfs when this user may mount one, else RLIMIT_FSIZE with SIGXFSZ
# ignored) exit 3 with "No space left on device" / "File too large" -- they
# used to die with SIGABRT in a RocksDB assertion while opening the delivery
# state (issue 17 item 9) -- and the state stays intact: the saved endpoint
# is listed, and once there is room both commands work.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

m=$(sample_copy)
mnt="$WORK/mnt"
mkdir -p "$mnt"
mode=rlimit
if [ "${DISK_FULL_MODE:-}" != rlimit ] && [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m tmpfs "$mnt" 2>/dev/null; then
  mode=tmpfs
  trap 'umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; cleanup' EXIT
elif ! command -v prlimit > /dev/null; then
  echo "deliver_disk_full: cannot mount a small filesystem and prlimit is missing: skipped"
  exit 77
fi
log="$mnt/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || [ $? -eq 1 ] || fail "scan"
port=$(closed_port)
"$BIN" endpoint add a --url "http://127.0.0.1:$port/" --log "$log" > /dev/null || fail "endpoint add a"

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
  [ "$(wc -l < "$WORK/err")" -le 2 ] || { cat "$WORK/err"; fail "$what: more than a short error"; }
}
check_full "endpoint add" "$BIN" endpoint add h --url "http://127.0.0.1:$port/" --log "$log"
check_full "deliver --endpoint" "$BIN" deliver --endpoint a --log "$log" --max-attempts 1
check_full "deliver --url" "$BIN" deliver --url "http://127.0.0.1:$port/" --log "$log" --max-attempts 1
check_full "endpoint remove" "$BIN" endpoint remove a --log "$log"

# The state is intact and readable while the disk is full.
"$BIN" endpoint list --log "$log" > "$WORK/list" || fail "endpoint list on a full disk"
grep -q "^a " "$WORK/list" || { cat "$WORK/list"; fail "endpoint a is gone"; }
grep -q "^h " "$WORK/list" && fail "endpoint h was half saved"

rm -f "$mnt/fill"
"$BIN" endpoint add h --url "http://127.0.0.1:$port/" --log "$log" > /dev/null || fail "endpoint add after freeing space"
"$BIN" endpoint list --log "$log" | grepq "^h " || fail "endpoint h not listed"
echo "deliver_disk_full ($mode): endpoint add/remove and deliver exit 3 with the reason; state intact"
