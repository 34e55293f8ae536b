#!/usr/bin/env bash
# secret_files: credentials need not be on the command line, and what dossier
# stores is private (issue 17 item 6).
#   - the log, the delivery state and the publish cursor store: folders 0700
#     and files 0600, under a umask of 022 (they were 0755 / 0644);
#   - `endpoint add --url-file` and `deliver --url-file` read a URL with a
#     token from a file; `publish`/`pull --nats-file` and $DOSSIER_NATS_URL a
#     NATS URL with a password; the password is never printed;
#   - a secret file (--url-file, --nats-file, --secret-file, --creds) that
#     group or others may read gets a warning; a 0600 one none.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

umask 022
m=$(sample_copy)
LOG="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$LOG" -q || [ $? -eq 1 ] || fail "scan"
make_secret
chmod 600 "$SECRET"
start_receiver recv --secret-file "$SECRET" --default 204 --deadline 60

printf 'http://127.0.0.1:%s/h?token=T0kenXYZ\n' "$RECV_PORT" > "$WORK/url"
chmod 600 "$WORK/url"
"$BIN" endpoint add hook --url-file "$WORK/url" --secret-file "$SECRET" --log "$LOG" \
  > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err"; fail "endpoint add --url-file"; }
[ ! -s "$WORK/err" ] || { cat "$WORK/err"; fail "endpoint add: a warning for 0600 files"; }
"$BIN" endpoint list --log "$LOG" > "$WORK/list" || fail "endpoint list"
grep -q "token=\*\*\*" "$WORK/list" || { cat "$WORK/list"; fail "the token is not redacted"; }
grep -q T0kenXYZ "$WORK/list" && fail "endpoint list printed the token"
"$BIN" deliver --endpoint hook --log "$LOG" --max-attempts 1 -q || fail "deliver --endpoint"
n=$(wc -l < "$WORK/recv.ndjson")
[ "$n" -gt 0 ] || fail "nothing delivered to the URL read from the file"

# A group-readable secret file: delivered all the same, with a warning.
chmod 640 "$WORK/url"
chmod 644 "$SECRET"
"$BIN" deliver --url-file "$WORK/url" --secret-file "$SECRET" --log "$LOG" --max-attempts 1 -q \
  2> "$WORK/err" || { cat "$WORK/err"; fail "deliver --url-file"; }
grep -q "URL file $WORK/url is readable or writable by its group (mode 0640)" "$WORK/err" \
  || { cat "$WORK/err"; fail "no warning for a group-readable URL file"; }
grep -q "secret file $SECRET is readable or writable by other users (mode 0644)" "$WORK/err" \
  || { cat "$WORK/err"; fail "no warning for a world-readable secret file"; }
grep -q T0kenXYZ "$WORK/err" && fail "deliver printed the token"
[ "$(wc -l < "$WORK/recv.ndjson")" -gt "$n" ] || fail "deliver --url-file sent nothing"
expect_exit 2 "$BIN" deliver --url-file "$WORK/url" --url http://127.0.0.1:1/ --log "$LOG"
mkfifo "$WORK/fifo"
rc=0
timeout 20 "$BIN" endpoint add x --url-file "$WORK/fifo" --log "$LOG" 2> "$WORK/err" || rc=$?
[ "$rc" -eq 2 ] || fail "a FIFO as --url-file: exit $rc, want 2"
grep -q "URL file $WORK/fifo is not a regular file" "$WORK/err" || { cat "$WORK/err"; fail "FIFO: $(cat "$WORK/err")"; }

# NATS: a password by file or environment, never printed (a closed port).
out=$("$BIN" publish --nats nats://127.0.0.1:1 2>&1) || true
if ! grep -q "without NATS support" <<<"$out"; then
  printf 'nats://alice:S3cretPW@127.0.0.1:1\n' > "$WORK/nats"
  chmod 604 "$WORK/nats"
  for how in file env; do
    rc=0
    if [ "$how" = file ]; then
      "$BIN" publish --nats-file "$WORK/nats" --log "$LOG" > "$WORK/out" 2> "$WORK/err" || rc=$?
      grep -q "NATS URL file $WORK/nats is readable or writable by other users" "$WORK/err" \
        || { cat "$WORK/err"; fail "no warning for a world-readable NATS URL file"; }
    else
      DOSSIER_NATS_URL='nats://alice:S3cretPW@127.0.0.1:1' "$BIN" pull --log "$LOG" \
        > "$WORK/out" 2> "$WORK/err" || rc=$?
    fi
    [ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "NATS URL by $how: exit $rc, want 3 (unreachable)"; }
    grep -q "127.0.0.1:1" "$WORK/err" || { cat "$WORK/err"; fail "NATS URL by $how: the server is not named"; }
    grep -q S3cretPW "$WORK/out" "$WORK/err" && fail "NATS URL by $how: the password was printed"
  done
  expect_exit 2 "$BIN" publish --log "$LOG"
fi

# What dossier stored is private, whatever the umask allowed.
bad=$(find "$LOG" \( -type d -perm /077 \) -o \( -type f -perm /077 \) | sed -n 1,5p)
[ -z "$bad" ] || { ls -ld $bad; fail "log files readable by group or others"; }
[ "$(stat -c %a "$LOG")" = 700 ] || fail "log folder mode $(stat -c %a "$LOG")"
[ "$(stat -c %a "$LOG/delivery")" = 700 ] || fail "delivery state mode $(stat -c %a "$LOG/delivery")"
echo "secret_files: URLs by file and environment, warnings for open modes, private log"
