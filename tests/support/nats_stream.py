#!/usr/bin/env python3
"""Inspect a JetStream stream over the plain NATS protocol (no client library).

Usage:
  nats_stream.py HOST:PORT STREAM info   -> one JSON line: the stream's state
  nats_stream.py HOST:PORT STREAM ids    -> the Nats-Msg-Id of every stored
                                            message, one per line, in stream order
  nats_stream.py HOST:PORT STREAM bodies -> every stored message's body, one per line
  nats_stream.py HOST:PORT STREAM pub SUBJECT BODY
                                         -> publish BODY to SUBJECT, print the ack
  nats_stream.py HOST:PORT STREAM wait N SECONDS
                                         -> poll (every 5 ms, riding out server
                                            restarts) until the stream holds at
                                            least N messages; print the count;
                                            exit 1 after SECONDS
  nats_stream.py HOST:PORT STREAM wait-consumer DURABLE N SECONDS
                                         -> poll until consumer DURABLE was
                                            delivered stream message N or later

Used by tests/e2e/nats_*.sh to check that a stream holds each event_id exactly
once: a `dossier pull` cannot tell (it de-duplicates by event_id), the
stream's own contents can.  Exits 2 when the stream does not exist, 1 on a
protocol or server error.  Every socket read has a timeout, so a dead server
cannot hang a test.
"""
import base64
import json
import socket
import sys
import time


class Nats:
    def __init__(self, hostport, timeout=10.0):
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""
        line = self._line()
        if not line.startswith(b"INFO "):
            raise RuntimeError(f"unexpected greeting {line[:80]!r}")
        connect = {"verbose": False, "pedantic": False, "headers": True,
                   "no_responders": True, "protocol": 1, "name": "nats_stream.py"}
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        self._until_pong()
        self.sock.sendall(b"SUB _INBOX.nats_stream.* 1\r\n")
        self.n = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _until_pong(self):
        while True:
            line = self._line()
            if line == b"PONG":
                return
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode(errors="replace"))

    def request(self, subject, payload=b""):
        """Send a request, return (headers bytes, body bytes) of the reply."""
        return self.request_many(subject, [payload])[0]

    def request_many(self, subject, payloads):
        """Pipeline one request per payload; replies in the same order."""
        first = self.n + 1
        out = []
        for p in payloads:
            self.n += 1
            out.append(f"PUB {subject} _INBOX.nats_stream.{self.n} {len(p)}\r\n".encode()
                       + p + b"\r\n")
        self.sock.sendall(b"".join(out))
        replies = {}
        while len(replies) < len(payloads):
            inbox, hdr, data = self._reply()
            k = int(inbox.rsplit(".", 1)[1])
            if first <= k <= self.n:
                if hdr.startswith(b"NATS/1.0 503"):
                    raise RuntimeError("no responders: is JetStream enabled?")
                replies[k] = (hdr, data)
        return [replies[k] for k in range(first, self.n + 1)]

    def _reply(self):
        while True:
            line = self._line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            if line in (b"PONG", b"+OK") or line.startswith(b"INFO "):
                continue
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode(errors="replace"))
            parts = line.split()
            if parts[0] == b"MSG":
                data = self._take(int(parts[-1]))
                hdr = b""
            elif parts[0] == b"HMSG":
                hlen, total = int(parts[-2]), int(parts[-1])
                raw = self._take(total)
                hdr, data = raw[:hlen], raw[hlen:]
            else:
                raise RuntimeError(f"unexpected protocol line {line[:80]!r}")
            return parts[1].decode(), hdr, data


def msg_id(hdrs):
    for line in hdrs.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            if k.strip().lower() == b"nats-msg-id":
                return v.strip().decode()
    return ""


def wait_for(hostport, stream, n, seconds, durable=None):
    deadline = time.monotonic() + seconds
    nc, count = None, -1
    api = (f"$JS.API.CONSUMER.INFO.{stream}.{durable}" if durable
           else f"$JS.API.STREAM.INFO.{stream}")
    while time.monotonic() < deadline:
        try:
            if nc is None:
                nc = Nats(hostport, timeout=1.0)
            _, body = nc.request(api)
            info = json.loads(body)
            if durable:
                count = info["delivered"]["stream_seq"] if "delivered" in info else -1
            else:
                count = info["state"]["messages"] if "state" in info else -1
            if count >= n:
                print(count)
                return 0
        except (OSError, RuntimeError, ValueError):
            nc = None           # the server is down or restarting: retry
        time.sleep(0.005)
    print(f"{durable or stream}: {count}, not {n}, after {seconds} s", file=sys.stderr)
    return 1


def main():
    if len(sys.argv) == 6 and sys.argv[3] == "pub":
        nc = Nats(sys.argv[1].replace("nats://", ""))
        _, body = nc.request(sys.argv[4], sys.argv[5].encode())
        print(body.decode())
        return
    if len(sys.argv) == 7 and sys.argv[3] == "wait-consumer":
        sys.exit(wait_for(sys.argv[1].replace("nats://", ""), sys.argv[2],
                          int(sys.argv[5]), float(sys.argv[6]), durable=sys.argv[4]))
    if len(sys.argv) == 6 and sys.argv[3] == "wait":
        sys.exit(wait_for(sys.argv[1].replace("nats://", ""), sys.argv[2],
                          int(sys.argv[4]), float(sys.argv[5])))
    if len(sys.argv) != 4 or sys.argv[3] not in ("info", "ids", "bodies"):
        sys.exit(__doc__)
    hostport, stream, what = sys.argv[1:]
    hostport = hostport.replace("nats://", "")
    nc = Nats(hostport)
    _, body = nc.request(f"$JS.API.STREAM.INFO.{stream}")
    info = json.loads(body)
    if "error" in info:
        if info["error"].get("err_code") == 10059:
            print(f"stream {stream} not found", file=sys.stderr)
            sys.exit(2)
        sys.exit(f"stream info: {info['error']}")
    state = info["state"]
    if what == "info":
        print(json.dumps({"messages": state["messages"], "first_seq": state["first_seq"],
                          "last_seq": state["last_seq"],
                          "duplicate_window_ns": info["config"].get("duplicate_window"),
                          "storage": info["config"].get("storage"),
                          "replicas": info["config"].get("num_replicas"),
                          "subjects": info["config"].get("subjects")}))
        return
    out = sys.stdout
    seqs = list(range(state["first_seq"], state["last_seq"] + 1)) if state["messages"] else []
    replies = []
    for i in range(0, len(seqs), 256):
        replies += nc.request_many(f"$JS.API.STREAM.MSG.GET.{stream}",
                                   [json.dumps({"seq": q}).encode() for q in seqs[i:i + 256]])
    for seq, (_, body) in zip(seqs, replies):
        rep = json.loads(body)
        if "error" in rep:
            if rep["error"].get("code") == 404:
                continue            # a deleted sequence (gap)
            sys.exit(f"message {seq}: {rep['error']}")
        m = rep["message"]
        if what == "ids":
            hdrs = base64.b64decode(m.get("hdrs", "")) if m.get("hdrs") else b""
            out.write(msg_id(hdrs) + "\n")
        else:
            out.write(base64.b64decode(m.get("data", "")).decode() + "\n")


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        sys.exit(f"nats_stream.py: {e}")
