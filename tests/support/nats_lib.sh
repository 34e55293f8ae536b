# Helpers for the NATS end-to-end tests and bench (source after e2e_lib.sh,
# or define WORK, CLEANUP_PIDS, fail and PY yourself).
# Provides: nats_require (skip with exit 77 when nats-server or NATS support
# is missing), nats_start [--no-js] (server on a free 127.0.0.1 port with its
# store in $WORK/js; sets NATS_URL, NATS_PORT, NATS_PID), nats_kill9,
# nats_restart (same port, same store), nats_stream CMD [ARGS] (tests/support/
# nats_stream.py on stream ${NATS_STREAM:-DOSSIER}).

nats_require() {
  NATS_SERVER=$(command -v nats-server || true)
  if [ -z "$NATS_SERVER" ]; then
    echo "SKIP: nats-server not found in PATH (Debian package nats-server)" >&2
    exit 77
  fi
  local out rc=0
  out=$("$BIN" publish --nats nats://127.0.0.1:1 2>&1) || rc=$?
  if [ "$rc" -eq 2 ] && grep -q "without NATS support" <<<"$out"; then
    echo "SKIP: dossier was built without NATS support (libnats-dev missing)" >&2
    exit 77
  fi
}

nats_free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait (at most 10 s) until the server accepts connections and answers.
nats_wait_ready() {
  local i
  for i in $(seq 1 100); do
    if "$PY" - "$NATS_PORT" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5)
s.settimeout(0.5)
assert s.recv(4) == b"INFO"
EOF
    then return 0; fi
    kill -0 "$NATS_PID" 2>/dev/null || { cat "$WORK/nats.log" >&2; fail "nats-server exited"; }
    sleep 0.1
  done
  cat "$WORK/nats.log" >&2
  fail "nats-server did not come up on port $NATS_PORT"
}

nats_launch() {
  local js="-js"
  [ "${NATS_NO_JS:-0}" = 1 ] && js=""
  # shellcheck disable=SC2086
  "$NATS_SERVER" $js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/js" >>"$WORK/nats.log" 2>&1 &
  NATS_PID=$!
  disown "$NATS_PID" 2>/dev/null || true   # no "Killed" noise when we kill it
  CLEANUP_PIDS+=("$NATS_PID")
  nats_wait_ready
}

nats_start() {
  NATS_NO_JS=0
  [ "${1:-}" = "--no-js" ] && NATS_NO_JS=1
  NATS_PORT=$(nats_free_port)
  NATS_URL="nats://127.0.0.1:$NATS_PORT"
  mkdir -p "$WORK/js"
  nats_launch
}

nats_kill9() {
  kill -9 "$NATS_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$NATS_PID" 2>/dev/null || return 0
    sleep 0.05
  done
  fail "nats-server $NATS_PID survived SIGKILL"
}

nats_restart() {
  nats_launch
}

nats_stream() {
  "$PY" "$SRC/tests/support/nats_stream.py" "127.0.0.1:$NATS_PORT" "${NATS_STREAM:-DOSSIER}" "$@"
}
