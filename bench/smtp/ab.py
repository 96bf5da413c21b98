#!/usr/bin/python3
"""A/B of two homthu builds for changes too small for whole-run figures.

Whole benchmark runs on a shared 2-core machine vary by 10-15% from one
minute to the next, which hides a change of a few percent. This starts both
builds side by side (each with its own slapd and demo province), keeps one
SMTP connection to each, and sends one message to A, one to B, alternating
which goes first. Both see the same moments of the machine, so the median
of the per-message differences is steady to about 0.05-0.1 ms where whole
runs differ by 0.3 ms. Run it once with the same build on both sides first:
that difference (the second server tends to be a little ahead) is the
noise floor.

It cannot judge changes to background disk work: each server's background
commits and checkpoints land on the other's deliveries too.

    python3 bench/smtp/ab.py --a /tmp/old/bin --b build/bin [--size 102400] [--messages 400]

Prints per build the median time from sending the content to the 250, and
the median and mean of B minus A. Bounded by --messages and --seconds;
loopback only.
"""

import argparse
import os
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
sys.path.insert(0, HERE)

from run import body  # noqa: E402


class Conn:
    def __init__(self, host, port, rcpt):
        self.rcpt = rcpt.encode()
        self.sock = socket.create_connection((host, port), timeout=60)
        self.file = self.sock.makefile("rb")
        self.reply()
        self.sock.sendall(b"EHLO ab.example.org\r\n")
        self.reply()

    def reply(self):
        while True:
            line = self.file.readline()
            if not line:
                raise SystemExit("connection closed by the server")
            if line[3:4] != b"-":
                return line

    def send(self, content):
        """One transaction; returns the seconds from the content to the 250."""
        self.sock.sendall(b"MAIL FROM:<bench@example.org>\r\nRCPT TO:<" + self.rcpt + b">\r\nDATA\r\n")
        for expect in (b"250", b"250", b"354"):
            r = self.reply()
            if not r.startswith(expect):
                raise SystemExit("unexpected reply: %r" % r)
        start = time.perf_counter()
        self.sock.sendall(content)
        r = self.reply()
        took = time.perf_counter() - start
        if not r.startswith(b"250"):
            raise SystemExit("message refused: %r" % r)
        return took

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        finally:
            self.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="directory of build A's homthud and homthuctl")
    ap.add_argument("--b", required=True, help="directory of build B's homthud and homthuctl")
    ap.add_argument("--size", type=int, default=102400)
    ap.add_argument("--messages", type=int, default=400, help="per build, at most")
    ap.add_argument("--seconds", type=float, default=120.0, help="at most")
    args = ap.parse_args()
    args.messages = max(10, min(args.messages, 5000))
    args.seconds = max(5.0, min(args.seconds, 600.0))

    from harness import Homthu
    extra = '[smtp]\ndns_servers = ["127.0.0.1:9"]\n'  # the checks end at once, on this machine
    servers = [Homthu(users=20, config_extra=extra, bin_dir=d) for d in (args.a, args.b)]
    try:
        for h in servers:
            h.start()
        conns = [Conn(h.host, h.port("smtp"), h.accounts[0]["address"]) for h in servers]
        content = body(args.size, 0) + b".\r\n"
        times = ([], [])
        deadline = time.monotonic() + args.seconds
        for i in range(args.messages):
            if time.monotonic() > deadline:
                break
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for k in order:
                times[k].append(conns[k].send(content))
        for c in conns:
            c.close()
    finally:
        for h in servers:
            h.stop()
    a, b = times
    diff = [y - x for x, y in zip(a, b)]
    ms = 1000.0
    print("messages %d of %d octets each way" % (len(diff), args.size))
    print("A %s: p50 %.3f ms" % (args.a, statistics.median(a) * ms))
    print("B %s: p50 %.3f ms" % (args.b, statistics.median(b) * ms))
    print("B - A: median %+.3f ms, mean %+.3f ms" % (statistics.median(diff) * ms, statistics.mean(diff) * ms))


if __name__ == "__main__":
    main()
