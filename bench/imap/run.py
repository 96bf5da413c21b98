#!/usr/bin/python3
"""IMAP benchmark, loopback only, bounded in count and time.

memory: homthud's proportional set size (PSS, /proc/PID/smaps_rollup) before
  and after opening N connections, divided by N:
    - tls:   993, LOGIN, SELECT INBOX, IDLE (authenticated, in IDLE)
    - plain: 143, greeting only. Plain-text LOGIN is refused on 143 before
             STARTTLS (LOGINDISABLED, RELIABILITY.md S7), so an
             authenticated plain connection does not exist; this is the
             cost of the plain transport and an unauthenticated session.
  Default N = 2000; --connections 10000 for the issue's figure.
mixed: operations/s at C concurrent clients (default 50), each looping over
  login, select, fetch headers, fetch a body, store flags, search, append,
  expunge, logout until --seconds pass. One operation = one command.

Starts its own slapd + homthud through the integration harness.

    HOMTHU_BIN=build/bin python3 bench/imap/run.py [--connections 2000]
        [--clients 50] [--seconds 20] [--only memory|mixed] [--repeat 3]
"""

import argparse
import asyncio
import os
import resource
import ssl
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness import Homthu  # noqa: E402


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for ln in f:
            if ln.startswith("Pss:"):
                return int(ln.split()[1])
    raise RuntimeError("no Pss in smaps_rollup")


class Conn:
    def __init__(self, reader, writer):
        self.r, self.w, self.n = reader, writer, 0

    async def line(self):
        ln = await self.r.readline()
        if not ln:
            raise ConnectionError("closed")
        if ln.endswith(b"}\r\n") and b"{" in ln:
            n = int(ln[ln.rfind(b"{") + 1:-3])
            await self.r.readexactly(n)
            ln += await self.line()
        return ln

    async def cmd(self, text, literal=None):
        self.n += 1
        tag = b"b%d" % self.n
        if literal is None:
            self.w.write(tag + b" " + text + b"\r\n")
        else:
            self.w.write(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        await self.w.drain()
        for _ in range(1000000):
            ln = await self.line()
            if ln.startswith(tag + b" "):
                if not ln.startswith(tag + b" OK"):
                    raise RuntimeError(ln.decode(errors="replace"))
                return
        raise RuntimeError("no tagged reply")


async def connect(h, tls, ctx):
    port = h.port("imaps" if tls else "imap")
    r, w = await asyncio.wait_for(
        asyncio.open_connection(h.host, port, ssl=ctx if tls else None,
                                server_hostname="localhost" if tls else None, limit=1 << 20), 30)
    c = Conn(r, w)
    await c.line()
    return c


async def login(c, acct, password):
    # A login storm may find the directory busy ([UNAVAILABLE]); retry a
    # bounded number of times, as a client would.
    for attempt in range(10):
        try:
            await c.cmd(b'LOGIN "%s" "%s"' % (acct.encode(), password.encode()))
            return
        except RuntimeError as ex:
            if "UNAVAILABLE" not in str(ex) or attempt == 9:
                raise
            await asyncio.sleep(0.5)


async def open_idle(h, ctx, tls, i, conns, sem, stage="idle"):
    async with sem:
        # The listener caps new TLS handshakes per second and refuses the
        # excess; a client tries again later (bounded).
        for attempt in range(20):
            try:
                c = await connect(h, tls, ctx)
                break
            except (ConnectionError, OSError):
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
        if tls and stage != "greeting":
            await login(c, h.accounts[i % len(h.accounts)]["address"], h.password)
        if tls and stage == "idle":
            await c.cmd(b"SELECT INBOX")
            c.w.write(b"idle IDLE\r\n")
            await c.w.drain()
            ln = await c.line()
            assert ln.startswith(b"+"), ln
        conns.append(c)


async def memory(h, n, tls, stage="idle"):
    ctx = h.ssl_context()
    sem = asyncio.Semaphore(16)
    warm = []
    await open_idle(h, ctx, tls, 0, warm, sem)   # pools and caches are warm
    await asyncio.sleep(1)
    before = pss_kib(h.proc.pid)
    conns = []
    t0 = time.monotonic()
    results = await asyncio.wait_for(
        asyncio.gather(*(open_idle(h, ctx, tls, i, conns, sem, stage) for i in range(n)),
                       return_exceptions=True), timeout=600)
    failed = [r for r in results if isinstance(r, BaseException)]
    opened = time.monotonic() - t0
    await asyncio.sleep(3)
    after = pss_kib(h.proc.pid)
    for c in conns + warm:
        c.w.close()
    await asyncio.sleep(1)
    return (after - before) / max(1, len(conns)), before, after, opened, len(conns), failed[:2]


MSG = (b"From: bench@example.org\r\nTo: x@thainguyen.gov.vn\r\nSubject: bench\r\n"
       b"Message-ID: <bench@example.org>\r\n\r\n" + b"Noi dung hanh chinh cong.\r\n" * 80)


async def mixed(h, clients, seconds):
    ctx = h.ssl_context()
    ops = [0]
    errors = []

    async def client(k):
        acct = h.accounts[k % len(h.accounts)]["address"].encode()
        for _ in range(100000):
            if time.monotonic() >= deadline:
                return
            try:
                c = await connect(h, True, ctx)
                await login(c, acct.decode(), h.password)
                await c.cmd(b"SELECT INBOX")
                await c.cmd(b"FETCH 1:20 (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
                await c.cmd(b"FETCH 1 (BODY.PEEK[])")
                await c.cmd(b"STORE 1:5 +FLAGS (\\Seen)")
                await c.cmd(b"SEARCH SUBJECT bench")
                await c.cmd(b"APPEND INBOX (\\Deleted)", MSG)
                await c.cmd(b"EXPUNGE")
                await c.cmd(b"LOGOUT")
                c.w.close()
                ops[0] += 9
            except Exception as ex:  # counted, reported
                errors.append(repr(ex))
                await asyncio.sleep(0.1)

    # Each account starts with 20 messages.
    for a in h.accounts[:clients]:
        c = await connect(h, True, ctx)
        await login(c, a["address"], h.password)
        for _ in range(20):
            await c.cmd(b"APPEND INBOX", MSG)
        await c.cmd(b"LOGOUT")
        c.w.close()
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.monotonic() - t0
    return ops[0] / elapsed, len(errors), errors[:3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("memory", "mixed"))
    # Where TLS connections stop: after the greeting, after LOGIN, or in IDLE.
    ap.add_argument("--stage", choices=("greeting", "login", "idle"), default="idle")
    a = ap.parse_args()
    a.connections = max(1, min(a.connections, 10000))
    a.clients = max(1, min(a.clients, 200))
    a.seconds = max(1.0, min(a.seconds, 300.0))
    a.repeat = max(1, min(a.repeat, 10))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 2 * a.connections + 1000)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))  # homthud inherits it
    extra = ("[limits]\nmax_connections = 30000\nmax_connections_per_ip = 30000\n"
             "tls_handshakes_per_second = 100000\n")
    with Homthu(users=max(50, a.clients), config_extra=extra) as h:
        print("homthud pid %d, %d CPUs (shared machine)" % (h.proc.pid, os.cpu_count()))
        if a.only in (None, "memory"):
            for tls in (False, True):
                per = []
                for _ in range(a.repeat):
                    # A fresh daemon each round: freed heap stays in the
                    # process and would hide the next round's growth.
                    h.restart_homthud()
                    kib, before, after, opened, ok, failed = asyncio.run(memory(h, a.connections, tls, a.stage))
                    per.append(kib)
                    print("memory %-5s N=%d (%d open): PSS %d -> %d KiB, %.1f KiB/connection (opened in %.1f s) %s"
                          % ("tls" if tls else "plain", a.connections, ok, before, after, kib, opened,
                             failed or ""), flush=True)
                print("memory %-5s median %.1f KiB/connection" % ("tls" if tls else "plain",
                                                                 statistics.median(per)), flush=True)
        if a.only in (None, "mixed"):
            rates = []
            for _ in range(a.repeat):
                rate, nerr, sample = asyncio.run(mixed(h, a.clients, a.seconds))
                rates.append(rate)
                print("mixed %d clients, %.0f s: %.0f ops/s, %d errors %s"
                      % (a.clients, a.seconds, rate, nerr, sample), flush=True)
            print("mixed median %.0f ops/s" % statistics.median(rates), flush=True)


if __name__ == "__main__":
    main()
