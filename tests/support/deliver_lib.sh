# Helpers for the webhook delivery end-to-end tests.
# Source after e2e_lib.sh (uses $WORK, $SRC, $PY, fail, CLEANUP_PIDS).
#
#   make_secret               -> writes $WORK/hook.key (a whsec_ secret), sets SECRET
#   start_receiver NAME ARGS  -> starts webhook_receiver.py on a free loopback
#                                port, logging to $WORK/NAME.ndjson; sets
#                                RECV_PORT and RECV_PID (killed on exit)
#   receiver_endpoint LOG NAME [ARGS] -> make_secret (mode 0600), a receiver
#                                logging to $WORK/recv.ndjson, and endpoint
#                                NAME saved in LOG for it (ARGS: more
#                                options of 'endpoint add', such as --auto)
#   closed_port               -> prints a loopback port nothing listens on
#   import_events N FEATURES LOG [SEED] -> appends N generated envelopes
#   recv_check LOGFILE IDSFILE [--max-dup N] [--exact]
#                             -> every request signed, timestamped and shaped
#                                correctly; every id of IDSFILE accepted at
#                                least once, nothing else accepted; at most N
#                                ids accepted twice (--exact: none)

RECEIVER="$SRC/tests/support/webhook_receiver.py"

make_secret() {
  SECRET="$WORK/hook.key"
  echo "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" > "$SECRET"
}

start_receiver() {
  local name=$1; shift
  rm -f "$WORK/$name.port"
  "$PY" "$RECEIVER" --port-file "$WORK/$name.port" --log "$WORK/$name.ndjson" "$@" &
  RECV_PID=$!
  CLEANUP_PIDS+=("$RECV_PID")
  local i
  for i in $(seq 1 100); do
    [ -s "$WORK/$name.port" ] && break
    sleep 0.05
  done
  [ -s "$WORK/$name.port" ] || fail "receiver $name did not start"
  RECV_PORT=$(cat "$WORK/$name.port")
}

receiver_endpoint() {
  local log=$1 name=$2; shift 2
  make_secret
  chmod 600 "$SECRET"
  start_receiver recv --secret-file "$SECRET" --deadline 120
  "$BIN" endpoint add "$name" --log "$log" --url "http://127.0.0.1:$RECV_PORT/hooks/dossier" \
    --secret-file "$SECRET" "$@" > /dev/null || fail "endpoint add $name"
}

closed_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

import_events() {
  local n=$1 features=$2 log=$3 seed=${4:-1}
  "$PY" "$SRC/tests/support/gen_envelopes.py" "$n" --features "$features" --seed "$seed" \
    > "$WORK/gen-$seed.ndjson"
  "$BIN" import --log "$log" "$WORK/gen-$seed.ndjson" > /dev/null \
    || fail "import of $n generated events failed"
}

# The event_ids of a log, one per line.
log_ids() {
  "$BIN" events --log "$1" | "$PY" -c 'import sys, json
for line in sys.stdin:
    print(json.loads(line)["event_id"])'
}

recv_check() {
  "$PY" - "$@" <<'EOF'
import json, sys
log, ids_file = sys.argv[1], sys.argv[2]
max_dup = 0
exact = "--exact" in sys.argv
if "--max-dup" in sys.argv:
    max_dup = int(sys.argv[sys.argv.index("--max-dup") + 1])
recs = [json.loads(l) for l in open(log) if l.strip()]
want = [l.strip() for l in open(ids_file) if l.strip()]
bad = [r for r in recs if not (r["sig_ok"] and r["ts_ok"] and r["body_ok"] and r["headers_ok"])]
if bad:
    sys.exit("requests failing checks: %s" % bad[:3])
accepted = {}
for r in recs:
    if r["accepted"]:
        accepted[r["id"]] = accepted.get(r["id"], 0) + 1
missing = set(want) - set(accepted)
extra = set(accepted) - set(want)
dups = {k: v for k, v in accepted.items() if v > 1}
if missing:
    sys.exit("%d event(s) never accepted, e.g. %s" % (len(missing), sorted(missing)[:3]))
if extra:
    sys.exit("accepted ids not in the log: %s" % sorted(extra)[:3])
limit = 0 if exact else max_dup
if sum(v - 1 for v in dups.values()) > limit:
    sys.exit("%d duplicate acceptance(s) (limit %d): %s" %
             (sum(v - 1 for v in dups.values()), limit, list(dups.items())[:5]))
print("receiver: %d requests, %d ids accepted, %d duplicate(s), all signatures valid" %
      (len(recs), len(accepted), sum(v - 1 for v in dups.values())))
EOF
}

# wait_lines FILE N [SECONDS]: wait until FILE has at least N lines (a hung
# request is logged by the receiver only when it gives up on it).
wait_lines() {
  local f=$1 n=$2 t=${3:-10} i
  for i in $(seq 1 $((t * 20))); do
    [ -f "$f" ] && [ "$(wc -l < "$f")" -ge "$n" ] && return 0
    sleep 0.05
  done
  fail "$f: fewer than $n lines after ${t}s"
}
