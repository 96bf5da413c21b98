#!/usr/bin/python3
"""IMAP side by side: the same loads against any running IMAP server with
the demo accounts (homthu, or Dovecot started by bench/peers/peers.sh), for
bench/run.sh. Loopback only; every loop bounded in count and time.

    compare.py --system homthu --host 127.0.0.1 --imap-port 23143 --imaps-port 23993 \
        --accounts accounts.tsv --password P --pid PID [--connections 10000] [--clients 100]
    compare.py --system dovecot ... --pid MASTER_PID      (counts the whole process tree)

Measures, printing one TSV row per figure (metric, system, value, unit):
  logins/s        C clients looping TLS connect + LOGIN + LOGOUT
  login p50/p99   latency of LOGIN
  mixed ops/s     C clients, each logged in once, looping select, fetch
                  headers, fetch a body, store, search, append, expunge
  op p50/p99      latency of those commands
  idle memory     PSS growth per connection at N idle connections, plain
                  (greeting only) and TLS (LOGIN, SELECT, IDLE), whole
                  process tree for servers that fork per connection
"""

import argparse
import asyncio
import csv
import os
import resource
import ssl
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import MSG, Conn  # noqa: E402


def tree_pss_kib(pid):
    """PSS of pid and all its descendants (Dovecot forks per connection)."""
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for ln in f:
                    if ln.startswith("Pss:"):
                        total += int(ln.split()[1])
        except OSError:
            pass
    return total


class Target:
    def __init__(self, a):
        self.host, self.imap_port, self.imaps_port = a.host, a.imap_port, a.imaps_port
        self.password, self.pid = a.password, a.pid
        with open(a.accounts, encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        self.accounts = [r[0] for r in rows[1:]]
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    async def connect(self, tls=True):
        for attempt in range(20):  # a listener may shed a handshake burst; retry, bounded
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    self.host, self.imaps_port if tls else self.imap_port, ssl=self.ctx if tls else None,
                    server_hostname="localhost" if tls else None, limit=1 << 20), 30)
                c = Conn(r, w)
                await c.line()
                return c
            except (ConnectionError, OSError, asyncio.TimeoutError):
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)

    async def login(self, c, k):
        await c.cmd(b'LOGIN "%s" "%s"' % (self.accounts[k % len(self.accounts)].encode(), self.password.encode()))


async def timed(lat, coro):
    t = time.monotonic()
    await coro
    lat.append(time.monotonic() - t)


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))] * 1000.0


async def repeat(seconds, errors, body):
    """Runs body(i) until `seconds` pass (and at most 100,000 times); a
    failure is counted in errors and the loop goes on after a pause."""
    deadline = time.monotonic() + seconds
    for i in range(100000):
        if time.monotonic() >= deadline:
            return
        try:
            await body(i)
        except Exception as ex:  # counted and reported
            errors.append(repr(ex))
            await asyncio.sleep(0.1)


async def logins(t, clients, seconds):
    lat, errors = [], []

    async def client(k):
        async def once(i):
            c = await t.connect()
            await timed(lat, t.login(c, k + i * clients))
            await c.cmd(b"LOGOUT")
            c.w.close()
        await repeat(seconds, errors, once)

    t0 = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return len(lat) / (time.monotonic() - t0), lat, errors


async def prefill(t, clients):
    sem = asyncio.Semaphore(10)

    async def one(k):
        async with sem:
            c = await t.connect()
            await t.login(c, k)
            for _ in range(20):
                await c.cmd(b"APPEND INBOX", MSG)
            await c.cmd(b"LOGOUT")
            c.w.close()

    await asyncio.gather(*(one(k) for k in range(clients)))


# The mixed workload of bench/imap/run.py, one command at a time.
MIXED = [(b"SELECT INBOX", None),
         (b"FETCH 1:20 (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])", None),
         (b"FETCH 1 (BODY.PEEK[])", None), (b"STORE 1:5 +FLAGS (\\Seen)", None),
         (b"SEARCH SUBJECT bench", None), (b"APPEND INBOX (\\Deleted)", MSG),
         (b"EXPUNGE", None)]


async def mixed(t, clients, seconds):
    """Clients stay connected, as mail clients do: each logs in once (not
    timed here: LOGIN has its own figures, and a password hash costs far more
    than any command), then loops the commands until `seconds` pass."""
    lat, errors = [], []
    sem = asyncio.Semaphore(20)

    async def connect(k):
        async with sem:
            c = await t.connect()
            await t.login(c, k)
            return c

    conns = await asyncio.gather(*(connect(k) for k in range(clients)))

    async def client(c):
        async def once(_):
            for command, literal in MIXED:
                await timed(lat, c.cmd(command, literal))
        await repeat(seconds, errors, once)
        await c.cmd(b"LOGOUT")
        c.w.close()

    t0 = time.monotonic()
    await asyncio.gather(*(client(c) for c in conns))
    return len(lat) / (time.monotonic() - t0), lat, errors


async def idle_memory(t, n, tls):
    sem = asyncio.Semaphore(16)
    conns, failed = [], []

    async def one(k):
        async with sem:
            try:
                c = await t.connect(tls)
                if tls:
                    await t.login(c, k)
                    await c.cmd(b"SELECT INBOX")
                    c.w.write(b"idle IDLE\r\n")
                    await c.w.drain()
                    ln = await c.line()
                    if not ln.startswith(b"+"):
                        raise RuntimeError(ln)
                conns.append(c)
            except Exception as ex:  # counted and reported
                failed.append(repr(ex))

    warm = []
    c = await t.connect(tls)
    warm.append(c)
    await asyncio.sleep(1)
    before = tree_pss_kib(t.pid)
    await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(n))), timeout=900)
    await asyncio.sleep(3)
    after = tree_pss_kib(t.pid)
    for c in conns + warm:
        c.w.close()
    await asyncio.sleep(2)
    return (after - before) / max(1, len(conns)), len(conns), failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--imap-port", type=int, required=True)
    ap.add_argument("--imaps-port", type=int, required=True)
    ap.add_argument("--accounts", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    # A fresh server per memory figure: heap freed by an earlier phase would be
    # reused and hide growth (bench/run.sh restarts homthud between them).
    ap.add_argument("--only", default="logins,mixed", help="logins,mixed,memory-tls,memory-plain")
    a = ap.parse_args()
    a.connections = max(1, min(a.connections, 10000))
    a.clients = max(1, min(a.clients, 200))
    a.seconds = max(1.0, min(a.seconds, 120.0))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 2 * a.connections + 1000)), hard))
    t = Target(a)
    only = a.only.split(",")

    def row(metric, value, unit):
        print("%s\t%s\t%.1f\t%s" % (metric, a.system, value, unit), flush=True)

    def report_errors(what, errors):
        if errors:
            print("# %s %s: %d errors, e.g. %s" % (a.system, what, len(errors), errors[:2]), file=sys.stderr)

    if "logins" in only:
        n = min(a.clients, 20)
        rate, lat, errors = asyncio.run(logins(t, n, a.seconds))
        report_errors("logins", errors)
        row("IMAP logins/s (TLS, %d clients)" % n, rate, "/s")
        row("IMAP LOGIN latency p50", pct(lat, 50), "ms")
        row("IMAP LOGIN latency p99", pct(lat, 99), "ms")
    if "mixed" in only:
        asyncio.run(prefill(t, a.clients))
        rate, lat, errors = asyncio.run(mixed(t, a.clients, a.seconds))
        report_errors("mixed", errors)
        row("IMAP mixed ops/s (%d clients)" % a.clients, rate, "/s")
        row("IMAP command latency p50 (mixed)", pct(lat, 50), "ms")
        row("IMAP command latency p99 (mixed)", pct(lat, 99), "ms")
    for tls in (True, False):
        if ("memory-tls" if tls else "memory-plain") in only:
            kib, opened, failed = asyncio.run(idle_memory(t, a.connections, tls))
            report_errors("memory", failed)
            row("IMAP idle memory per connection, %s, N=%d" % ("TLS in IDLE" if tls else "plain", opened),
                kib, "KiB")

if __name__ == "__main__":
    main()
