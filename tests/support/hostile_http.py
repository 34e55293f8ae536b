#!/usr/bin/python3
"""hostile_http.py - a webhook endpoint that misbehaves on purpose (tests).

Usage: hostile_http.py MODE --port-file F --log L [--tls CERT KEY] [--target URL]
                       [--deadline S]

Listens on 127.0.0.1 (free port, written to --port-file), reads each
request fully, then, by MODE:
  huge      200 OK with a 256 MiB body (Content-Length set), written as fast
            as the client reads it
  loris     "HTTP/1.1 200 OK" and then one header byte per second, forever
  redirect  307 to --target (another host), empty body
  ok        204 No Content
With --tls it speaks HTTPS with that certificate.  Each request is logged as
one JSON line {"n", "path", "mode", "completed"} to --log; a TLS handshake
the client refuses is logged as {"handshake_failed": true}.  Exits by
itself after --deadline seconds (default 60).
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["huge", "loris", "redirect", "ok"])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--target", default="http://127.0.0.2:9/")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--deadline", type=float, default=60.0)
    a = ap.parse_args()

    lock = threading.Lock()
    count = [0]

    def log(rec):
        with lock:
            with open(a.log, "a") as f:
                f.write(json.dumps(rec) + "\n")

    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, 0))
    srv.listen(16)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.rename(a.port_file + ".tmp", a.port_file)

    def read_request(c):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(body) < length:
            chunk = c.recv(65536)
            if not chunk:
                return None
            body += chunk
        return head.split(b"\r\n")[0].decode("latin-1")

    def serve(c):
        completed = False
        path = None
        try:
            if ctx:
                try:
                    c = ctx.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError):
                    log({"handshake_failed": True})
                    return
            line = read_request(c)
            if line is None:
                return
            path = line.split(" ")[1] if " " in line else line
            with lock:
                count[0] += 1
                n = count[0]
            if a.mode == "ok":
                c.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            elif a.mode == "redirect":
                c.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: " + a.target.encode()
                          + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            elif a.mode == "huge":
                size = 256 << 20
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                          + str(size).encode() + b"\r\nConnection: close\r\n\r\n")
                block = b"x" * (1 << 20)
                for _ in range(size >> 20):
                    c.sendall(block)
            elif a.mode == "loris":
                c.sendall(b"HTTP/1.1 200 OK\r\n")
                while True:
                    c.sendall(b"X")
                    time.sleep(1.0)
            completed = True
        except OSError:
            pass
        finally:
            if path is not None:
                log({"n": count[0], "path": path, "mode": a.mode, "completed": completed})
            try:
                c.close()
            except OSError:
                pass

    def stop_later():
        time.sleep(a.deadline)
        os._exit(0)

    threading.Thread(target=stop_later, daemon=True).start()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
