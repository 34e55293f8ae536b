#!/usr/bin/env python3
"""Send a watcher a request it must not read, and check that it refuses it.

Usage: watch_ask_unread.py SOCKET MISSION REQUEST

REQUEST is the request's first fields with "\\0" for each NUL ("dossier-
scan=9\\0", say); the mission and display path fields are appended.  The
framing is dossier's (watch/watch_serve.c): a u32 length and the bytes;
the answer is a u32 exit status, then standard output and standard error,
each as a u32 length and the bytes.  Exits 0 when the answer is exit
status 3, no output, and "does not read" on standard error; otherwise
names what came back.
"""
import socket
import struct
import sys


def main():
    sock, mission, first = sys.argv[1:4]
    req = (first.replace("\\0", "\0").encode() + b"mission=" + mission.encode()
           + b"\0arg=m\0")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(struct.pack("<I", len(req)) + req)

    def take(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                sys.exit("the watcher closed the connection")
            b += c
        return b

    code = struct.unpack("<i", take(4))[0]
    out = take(struct.unpack("<I", take(4))[0])
    err = take(struct.unpack("<I", take(4))[0]).decode()
    if code != 3 or out or "does not read" not in err:
        sys.exit("not refused as unread: exit %d, out %r, err %r" % (code, out, err))


main()
