#!/usr/bin/env bash
# webhook_hostile: `dossier deliver` against endpoints that misbehave
# (tests/support/hostile_http.py), each bounded in time:
#   - a 256 MiB response body: read no further than a small cap, the run
#     ends promptly, the 2xx still counts;
#   - a slow-loris response (one byte a second): cut by --timeout, retried,
#     then dead-lettered -- never a hang;
#   - a redirect to another host: not followed (the other host sees
#     nothing), the event is dead-lettered at once;
#   - a TLS certificate the client cannot verify: refused (no request is
#     ever sent), and accepted with --cacert naming it.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

HOSTILE="$SRC/tests/support/hostile_http.py"
log="$WORK/log"
"$PY" "$SRC/tests/support/gen_envelopes.py" 1 --seed 5 > "$WORK/one.ndjson"
"$BIN" import "$WORK/one.ndjson" --log "$log" -q || fail "import"

start() {  # NAME MODE [ARGS...]: sets PORT
  local name=$1; shift
  "$PY" "$HOSTILE" "$@" --port-file "$WORK/$name.port" --log "$WORK/$name.log" --deadline 120 &
  CLEANUP_PIDS+=("$!")
  for _ in $(seq 1 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  [ -s "$WORK/$name.port" ] || fail "$name server did not start"
  PORT=$(cat "$WORK/$name.port")
  touch "$WORK/$name.log"
}
# deliver_to URL [ARGS...]: a fresh endpoint state per case; prints the
# exit code, fails when the run is not bounded
deliver_to() {
  local url=$1; shift
  rm -rf "$log/delivery"
  local rc=0
  timeout 60 "$BIN" deliver --log "$log" --url "$url" --max-attempts 2 --timeout 2s \
    --backoff-base 100ms --backoff-max 200ms -q "$@" > "$WORK/d.out" 2> "$WORK/d.err" || rc=$?
  [ "$rc" -ne 124 ] || fail "deliver to $url did not finish within 60 s"
  echo "$rc"
}
secs() { date +%s; }

# 1. huge body
start huge huge
t0=$(secs)
rc=$(deliver_to "http://127.0.0.1:$PORT/hook")
[ $(( $(secs) - t0 )) -le 20 ] || fail "huge body: deliver took $(( $(secs) - t0 )) s"
[ "$rc" -eq 0 ] || { cat "$WORK/d.err"; fail "huge body: a 200 with a long body must count as delivered (exit $rc)"; }
grep -q '"path": "/hook"' "$WORK/huge.log" || fail "huge body: no request reached the server"
grep -q '"completed": true' "$WORK/huge.log" && fail "huge body: the client read all 256 MiB"

# 2. slow loris
start loris loris
t0=$(secs)
rc=$(deliver_to "http://127.0.0.1:$PORT/hook")
took=$(( $(secs) - t0 ))
[ "$rc" -eq 1 ] || { cat "$WORK/d.err"; fail "slow loris: exit $rc, expected 1 (dead-lettered)"; }
[ "$took" -le 15 ] || fail "slow loris: took $took s with --timeout 2s x 2 attempts"
[ "$(grep -c '"path"' "$WORK/loris.log")" -ge 1 ] || fail "slow loris: no request"
"$BIN" deliveries --dead --log "$log" --json | grepq '"event_id"' || fail "slow loris: no dead letter"

# 3. redirect to another host
start other ok --host 127.0.0.2
other_port=$PORT
start redirect redirect --target "http://127.0.0.2:$other_port/stolen"
rc=$(deliver_to "http://127.0.0.1:$PORT/hook")
[ "$rc" -eq 1 ] || { cat "$WORK/d.err"; fail "redirect: exit $rc, expected 1 (dead letter at once)"; }
[ "$(grep -c '"path"' "$WORK/redirect.log")" -eq 1 ] || fail "redirect: retried a 3xx"
[ ! -s "$WORK/other.log" ] || fail "redirect: the other host received a request"

# 4. invalid TLS certificate
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
  > /dev/null 2>&1 || { echo "webhook_hostile: openssl cannot make a certificate: TLS part skipped"; exit 0; }
start tls ok --tls "$WORK/cert.pem" "$WORK/key.pem"
rc=$(deliver_to "https://127.0.0.1:$PORT/hook")
[ "$rc" -eq 1 ] || { cat "$WORK/d.err"; fail "self-signed TLS: exit $rc, expected 1"; }
grep -q '"path"' "$WORK/tls.log" && fail "self-signed TLS: a request was sent over an unverified connection"
"$BIN" deliveries --dead --log "$log" > "$WORK/dead.txt"
grep -qi "certificate" "$WORK/dead.txt" || { cat "$WORK/dead.txt"; fail "self-signed TLS: the dead letter does not say why"; }
rc=$(deliver_to "https://127.0.0.1:$PORT/hook" --cacert "$WORK/cert.pem")
[ "$rc" -eq 0 ] || { cat "$WORK/d.err"; fail "TLS with --cacert: exit $rc"; }
grep -q '"path": "/hook"' "$WORK/tls.log" || fail "TLS with --cacert: nothing delivered"
echo "webhook_hostile: huge body capped, slow loris cut, redirect not followed, bad certificate refused"
