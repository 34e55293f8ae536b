#!/usr/bin/python3
"""webhook_receiver.py - a scripted Standard Webhooks receiver for tests.

Listens on 127.0.0.1 (a free port unless --port), writes the port to
--port-file once it is listening, and answers each POST with the next action
of --script (then --default).  Every request is checked and recorded as one
JSON line in --log:

  {"n": 3, "id": "01J...", "action": "500", "status": 500, "accepted": false,
   "sig_ok": true, "ts_ok": true, "body_ok": true, "headers_ok": true,
   "event_type": "mission_dossier_artifact_indexed", "t": 1732521017.2}

"accepted" is true only when a 2xx response was written completely: that is
what a receiver would have processed.  sig_ok verifies webhook-signature
(v1, HMAC-SHA256 over "id.timestamp.body", whsec_ secrets base64-decoded,
several space-separated signatures allowed); body_ok checks that the body is
JSON whose event_id equals webhook-id; headers_ok checks Content-Type and
User-Agent.

Script: comma-separated actions, each optionally repeated with *N:
  200 | 204 | 2xx code  answer with that status
  500 | 503 | 5xx, 408, 409, 425, 400, 404, ... answer with that status
  429:S                 429 with "Retry-After: S" (seconds)
  503:date:S            503 with Retry-After as an HTTP date S seconds ahead
  410                   410 Gone
  hang                  read the request, say nothing for --hang seconds, close
  close                 send half a status line and headers, then close
  drop                  close the connection without answering
Example: --script "500,503,429:1,hang,close,410" --default 204

--bodies FILE appends every request body to FILE, one line each (the
bodies are compact JSON), for checks of what was sent.

The process exits by itself after --deadline seconds (default 60), so a
crashed test never leaves it behind.
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load_secret(path):
    if not path:
        return None
    with open(path, "rb") as f:
        text = f.read().strip()
    if text.startswith(b"whsec_"):
        return base64.b64decode(text[6:] + b"=" * (-len(text[6:]) % 4))
    return text


def parse_script(text):
    out = []
    for tok in filter(None, (t.strip() for t in (text or "").split(","))):
        rep = 1
        if "*" in tok:
            tok, n = tok.rsplit("*", 1)
            rep = int(n)
        out.extend([tok] * rep)
    return out


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.script = parse_script(args.script)
        self.default = args.default
        self.n = 0
        self.secret = load_secret(args.secret_file)
        self.hang = args.hang
        self.log = open(args.log, "a", buffering=1)

    def next_action(self):
        with self.lock:
            self.n += 1
            act = self.script.pop(0) if self.script else self.default
            return self.n, act

    def record(self, rec):
        line = json.dumps(rec, sort_keys=True)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()


def verify_signature(secret, msg_id, ts, body, header):
    if secret is None:
        return header is None
    if not header or msg_id is None or ts is None:
        return False
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    for part in header.split(" "):
        ver, _, sig = part.partition(",")
        if ver == "v1" and hmac.compare_digest(sig, want):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, like a real receiver

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_POST(self):
        st = self.server.state
        n, act = st.next_action()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        msg_id = self.headers.get("webhook-id")
        ts = self.headers.get("webhook-timestamp")
        rec = {"n": n, "id": msg_id, "action": act, "status": None, "accepted": False,
               "t": time.time(), "body_sha256": hashlib.sha256(body).hexdigest()}
        rec["sig_ok"] = verify_signature(st.secret, msg_id, ts, body,
                                         self.headers.get("webhook-signature"))
        try:
            rec["ts_ok"] = abs(int(ts) - time.time()) < 300
        except (TypeError, ValueError):
            rec["ts_ok"] = False
        try:
            doc = json.loads(body)
            rec["body_ok"] = isinstance(doc, dict) and doc.get("event_id") == msg_id
            rec["event_type"] = doc.get("event_type") if isinstance(doc, dict) else None
        except ValueError:
            rec["body_ok"] = False
            rec["event_type"] = None
        if st.bodies:
            with st.lock_bodies:
                with open(st.bodies, "ab") as f:
                    f.write(body.replace(b"\n", b" ") + b"\n")
        rec["headers_ok"] = (self.headers.get("Content-Type") == "application/json" and
                             (self.headers.get("User-Agent") or "").startswith("dossier/"))
        try:
            self.act(act, rec)
        finally:
            st.record(rec)

    def act(self, act, rec):
        if act == "hang":
            time.sleep(self.server.state.hang)
            self.close_now()
            return
        if act == "drop":
            self.close_now()
            return
        if act == "close":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
            self.wfile.flush()
            self.close_now()
            return
        extra = {}
        code_text = act
        if ":" in act:
            code_text, _, arg = act.partition(":")
            if arg.startswith("date:"):
                when = time.time() + float(arg[5:])
                extra["Retry-After"] = email.utils.formatdate(when, usegmt=True)
            else:
                extra["Retry-After"] = arg
        code = int(code_text)
        payload = b"" if code == 204 else json.dumps({"status": code}).encode()
        self.send_response(code)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        if payload:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        if payload:
            self.wfile.write(payload)
        self.wfile.flush()
        rec["status"] = code
        rec["accepted"] = 200 <= code <= 299

    def close_now(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client killed mid-request (the kill -9 tests) resets the
        # connection; that is expected, not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secret-file")
    ap.add_argument("--script", default="")
    ap.add_argument("--default", default="204")
    ap.add_argument("--hang", type=float, default=5.0)
    ap.add_argument("--deadline", type=float, default=60.0)
    ap.add_argument("--bodies")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    server.state.bodies = args.bodies
    server.state.lock_bodies = threading.Lock()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)

    def stop():
        time.sleep(args.deadline)
        # Hanging handler threads must not keep the process alive.
        os._exit(0)
    threading.Thread(target=stop, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
