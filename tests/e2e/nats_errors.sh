#!/usr/bin/env bash
# How publish and pull fail: usage errors (exit 2), a server with JetStream
# off, an unreachable server, a missing stream or log (exit 3, clear
# messages), a log held by another writer (exit 3; --wait waits for it), and a
# message in the stream that is not an envelope (reported, not imported,
# terminated so it is never re-delivered; exit 1).  Loopback only.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/nats_lib.sh"
nats_require

m=$(sample_copy)
L="$WORK/L"
"$BIN" scan --mission-type software-dev --log "$L" -q "$m"

# usage errors
expect_exit 2 "$BIN" publish --log "$L"
expect_exit 2 "$BIN" publish --nats nats://127.0.0.1:1 --replicas 9 --log "$L"
expect_exit 2 "$BIN" publish --nats nats://127.0.0.1:1 --dup-window 5x --log "$L"
expect_exit 2 "$BIN" publish --nats nats://127.0.0.1:1 --log "$L" extra-arg
expect_exit 2 "$BIN" pull --log "$L"
expect_exit 2 "$BIN" pull --nats nats://127.0.0.1:1 --batch 0 --log "$L"
# whole output first: grep -q would stop reading after the match, and a help
# longer than one stdio buffer then dies of SIGPIPE under pipefail
"$BIN" publish --help > "$WORK/publish-help.txt" || fail "publish --help exit"
grep -q "Nats-Msg-Id" "$WORK/publish-help.txt" || fail "publish --help"
"$BIN" pull --help > "$WORK/pull-help.txt" || fail "pull --help exit"
grep -q "durable" "$WORK/pull-help.txt" || fail "pull --help"

# nothing listens on the port
dead=$(nats_free_port)
out=$("$BIN" publish --nats "nats://127.0.0.1:$dead" --log "$L" 2>&1) && fail "publish to a dead port succeeded"
grep -q "cannot connect to NATS at nats://127.0.0.1:$dead" <<<"$out" || fail "dead port message: $out"
expect_exit 3 "$BIN" publish --nats "nats://127.0.0.1:$dead" --log "$L"

# a server without JetStream
nats_start --no-js
out=$("$BIN" publish --nats "$NATS_URL" --log "$L" 2>&1) && fail "publish without JetStream succeeded"
grep -q "JetStream is not enabled" <<<"$out" || fail "JetStream-off message: $out"
expect_exit 3 "$BIN" publish --nats "$NATS_URL" --log "$L"
out=$("$BIN" pull --nats "$NATS_URL" --log "$WORK/P0" 2>&1) && fail "pull without JetStream succeeded"
grep -q "JetStream is not enabled" <<<"$out" || fail "pull JetStream-off message: $out"
nats_kill9

# a server with JetStream
nats_start
out=$("$BIN" pull --nats "$NATS_URL" --log "$WORK/P1" 2>&1) && fail "pull of a missing stream succeeded"
grep -q "stream DOSSIER does not exist" <<<"$out" || fail "missing stream message: $out"
out=$("$BIN" publish --nats "$NATS_URL" --log "$WORK/no-log-here" 2>&1) && fail "publish of a missing log succeeded"
grep -q "no event log" <<<"$out" || fail "missing log message: $out"
expect_exit 2 "$BIN" publish --nats "$NATS_URL" --stream "bad.name" --log "$L"
expect_exit 2 "$BIN" publish --nats "$NATS_URL" --subject-prefix "a.*" --log "$L"
# replicas > 1 need a cluster: refused with an explanation, nothing created
out=$("$BIN" publish --nats "$NATS_URL" --replicas 3 --log "$L" 2>&1) && fail "3 replicas on one server succeeded"
grep -q "replicas" <<<"$out" || fail "replicas message: $out"
nats_stream info >/dev/null 2>&1 && fail "a stream was created despite the error"

"$BIN" publish --nats "$NATS_URL" --dup-window 90s --log "$L" -q
nats_stream info | grepq '"duplicate_window_ns": 90000000000' || fail "--dup-window not applied: $(nats_stream info)"
# an explicit --dup-window updates the existing stream
"$BIN" publish --nats "$NATS_URL" --dup-window 3m --log "$L" | grepq "(updated)" || fail "stream not updated"
nats_stream info | grepq '"duplicate_window_ns": 180000000000' || fail "--dup-window update not applied"
# a stream whose subjects do not capture the prefix is refused
out=$("$BIN" publish --nats "$NATS_URL" --subject-prefix other --log "$L" 2>&1) && fail "prefix mismatch accepted"
grep -q "does not capture 'other.>'" <<<"$out" || fail "prefix mismatch message: $out"

# only one publisher per log: its cursor store is locked
"$PY" - "$L/publish/LOCK" <<'EOF' &
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
time.sleep(1.5)
EOF
holder=$!
CLEANUP_PIDS+=("$holder")
sleep 0.5
out=$("$BIN" publish --nats "$NATS_URL" --log "$L" 2>&1) && fail "second publisher accepted"
grep -q "another \`dossier publish\` of this log is running" <<<"$out" || fail "publisher lock message: $out"
wait "$holder" || true

# pull is a writer: a log held by another writer is refused, --wait waits
P="$WORK/P"
"$BIN" pull --nats "$NATS_URL" --log "$P" -q
"$PY" - "$P/LOCK" <<'EOF' &
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
time.sleep(2)
EOF
holder=$!
CLEANUP_PIDS+=("$holder")
sleep 0.5
out=$("$BIN" pull --nats "$NATS_URL" --log "$P" 2>&1) && fail "pull into a locked log succeeded"
grep -q "locked" <<<"$out" || fail "locked log message: $out"
expect_exit 3 "$BIN" pull --nats "$NATS_URL" --log "$P"
"$BIN" pull --nats "$NATS_URL" --log "$P" --wait -q || fail "pull --wait did not wait for the writer"
wait "$holder" || true

# a message that is not an envelope: reported, not imported, never re-delivered
nats_stream pub dossier.x.mission_dossier_artifact_indexed '{"not":"an envelope"}' | grepq '"seq"' \
  || fail "could not publish a bad message"
nats_stream pub dossier.x.y 'not json at all' | grepq '"seq"' || fail "could not publish a bad message"
Q="$WORK/Q"
rc=0
"$BIN" pull --nats "$NATS_URL" --log "$Q" > "$WORK/q.out" 2> "$WORK/q.err" || rc=$?
[ "$rc" -eq 1 ] || fail "pull with invalid messages exited $rc, not 1: $(cat "$WORK/q.err")"
[ "$(grep -c "is not a valid envelope" "$WORK/q.err")" -eq 2 ] || fail "invalid messages not reported: $(cat "$WORK/q.err")"
grep -q ", 2 invalid" "$WORK/q.out" || fail "summary: $(cat "$WORK/q.out")"
nl=$("$BIN" events --log "$L" | wc -l)
nq=$("$BIN" events --log "$Q" --type mission_dossier_artifact_indexed | wc -l)
[ "$nq" -ge 1 ] || fail "valid events were not imported next to the invalid ones"
"$BIN" pull --nats "$NATS_URL" --log "$Q" > "$WORK/q2.out" || fail "second pull re-delivered the invalid messages"
grep -q "0 received" "$WORK/q2.out" || fail "second pull: $(cat "$WORK/q2.out")"
[ "$nl" -ge 1 ] || fail "empty source log"
echo "nats_errors: ok"
