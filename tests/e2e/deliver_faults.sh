#!/usr/bin/env bash
# deliver_faults: a scripted receiver answers 500, 503, 429 + Retry-After
# (seconds), hangs past the timeout, closes mid-response, drops the
# connection, 503 + Retry-After (HTTP date), 404, eight 500s and 410.  Events
# of one feature go out in log order, one at a time, so every answer lands on
# a known event.  At the end every event is delivered exactly once, and the
# dead letters / disabled endpoint are exactly where the rules put them.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
source "$DOSSIER_SRC/tests/support/deliver_lib.sh"

LOG="$WORK/log"
import_events 6 1 "$LOG" 11          # e1..e6, one feature
log_ids "$LOG" > "$WORK/ids6"
mapfile -t E < "$WORK/ids6"

make_secret
# Request by request:
#   e1: 500 503 429:1 hang close drop 503:date:1 -> 7 failures, then 204 (attempt 8)
#   e2: 404          -> dead letter at once
#   e3: 204
#   e4: 500 x 8      -> dead letter after 8 attempts
#   e5, e6: 204
#   (after --retry and two new events e7, e8)  e2: 204, e4: 410 -> disabled
SCRIPT="500,503,429:1,hang,close,drop,503:date:1,204,404,204,500*8,204,204,204,410"
start_receiver recv --secret-file "$SECRET" --script "$SCRIPT" --default 204 \
  --hang 1.5 --deadline 180
URL="http://127.0.0.1:$RECV_PORT/hook"
D=("$BIN" deliver --log "$LOG" --url "$URL" --secret-file "$SECRET" --concurrency 1
   --timeout 1 --backoff-base 50ms --backoff-max 200ms --json)

# Phase A: two dead letters -> exit 1.
rc=0; "${D[@]}" > "$WORK/a.json" 2> "$WORK/a.err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$WORK/a.err" >&2; fail "phase A exited $rc, want 1"; }
wait_lines "$WORK/recv.ndjson" 20
"$PY" - "$WORK/recv.ndjson" "$WORK/a.json" "${E[@]}" <<'EOF' || fail "phase A"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
e = sys.argv[3:]
want = [e[0]] * 8 + [e[1]] + [e[2]] + [e[3]] * 8 + [e[4], e[5]]
got = [r["id"] for r in sorted(recs, key=lambda r: r["n"])]
# The hung request is logged when the receiver gives up on it, possibly after
# later ones: compare the multiset in order of the script position n.
assert got == want, "request order:\n%s\nwant:\n%s" % (got, want)
acc = [r["id"] for r in recs if r["accepted"]]
assert sorted(acc) == sorted([e[0], e[2], e[4], e[5]]), acc
assert (s["delivered"], s["dead"], s["pending"]) == (4, 2, 0), s
assert s["failed_attempts"] == 7 + 7, s   # the 8th failure of e4 is its death
# Retry-After was honoured: the attempt after "429:1" came >= 1 s later.
by_n = {r["n"]: r for r in recs}
assert by_n[4]["t"] - by_n[3]["t"] >= 0.95, (by_n[3]["t"], by_n[4]["t"])
EOF
grep -q "dead-lettered after 1 attempt" "$WORK/a.err" || fail "no dead-letter message for e2"
grep -q "Retry-After\|429" "$WORK/a.err" || fail "429 failure not reported"

"$BIN" deliveries --log "$LOG" --dead --json > "$WORK/dead.json" || fail "deliveries --dead"
"$PY" - "$WORK/dead.json" "${E[@]}" <<'EOF' || fail "dead letters"
import json, sys
d = json.load(open(sys.argv[1]))
e = sys.argv[2:]
assert [x["event_id"] for x in d] == [e[1], e[3]], d
assert (d[0]["attempts"], d[0]["last_status"]) == (1, 404), d[0]
assert "4xx" in d[0]["reason"], d[0]
assert (d[1]["attempts"], d[1]["last_status"]) == (8, 500), d[1]
assert "max attempts" in d[1]["reason"], d[1]
EOF

# Phase B: re-queue the dead letters, add two events; e2 goes through, then
# 410 on e4 disables the endpoint (exit 3) and e4, e7, e8 stay pending.
"$BIN" deliveries --log "$LOG" --retry --json | grepq '"requeued":2' || fail "--retry"
import_events 2 1 "$LOG" 12
log_ids "$LOG" > "$WORK/ids8"
rc=0; "${D[@]}" > "$WORK/b.json" 2> "$WORK/b.err" || rc=$?
[ "$rc" -eq 3 ] || { cat "$WORK/b.err" >&2; fail "phase B exited $rc, want 3"; }
grep -q "410 Gone" "$WORK/b.err" || fail "410 not reported"
"$BIN" deliveries --log "$LOG" --json > "$WORK/b-state.json"
"$PY" - "$WORK/b-state.json" <<'EOF' || fail "phase B state"
import json, sys
d = json.load(open(sys.argv[1]))[0]
assert d["disabled"] is True, d
assert (d["pending"], d["dead"], d["delivered"]) == (3, 0, 5), d
EOF
NAME=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["endpoint"])' "$WORK/b-state.json")

# A disabled endpoint gets no request until it is enabled again.
n_before=$(wc -l < "$WORK/recv.ndjson")
rc=0; "${D[@]}" > /dev/null 2> "$WORK/c.err" || rc=$?
[ "$rc" -eq 3 ] || fail "deliver to a disabled endpoint exited $rc, want 3"
grep -q "endpoint enable $NAME" "$WORK/c.err" || fail "no hint to enable the endpoint"
[ "$(wc -l < "$WORK/recv.ndjson")" -eq "$n_before" ] || fail "a disabled endpoint got requests"

# Phase C: enable, deliver the rest.
"$BIN" endpoint enable "$NAME" --log "$LOG" > /dev/null || fail "endpoint enable"
"${D[@]}" > "$WORK/c.json" || fail "phase C"
"$PY" - "$WORK/recv.ndjson" "$WORK/ids8" <<'EOF' || fail "phase C order"
import json, sys
recs = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["n"])
e = [l.strip() for l in open(sys.argv[2])]
tail = [r["id"] for r in recs][20:]
# Phase B: e2 (204), e4 (410).  Phase C: e4, e7, e8 in log order.
assert tail == [e[1], e[3], e[3], e[6], e[7]], tail
EOF
recv_check "$WORK/recv.ndjson" "$WORK/ids8" --exact || fail "final receiver check"
"$BIN" deliveries --log "$LOG" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)[0]
assert (d["pending"], d["dead"], d["delivered"], d["disabled"]) == (0, 0, 8, False), d' \
  || fail "final counts"
echo "deliver_faults: ok"
