#!/usr/bin/env python3
"""Account search and list over the demo province through the admin REST API:
p50/p95/max of GET /api/v1/accounts (list pages, searches with and without
diacritics, a unit filter), and the first render of the console's accounts
page in headless Chromium (render.mjs). Issue 7's goal: API p95 <= 50 ms,
first render <= 300 ms on loopback.

    bench/admin/run.py                      # starts its own homthud + slapd, 9,000 accounts
    bench/admin/run.py --users 2000         # a smaller province
    bench/admin/run.py --url https://127.0.0.1:20443 --password "$(cat var/quickstart/demo-password)" \
        --cert var/quickstart/tls/cert.pem  # a homthu already running (packaging/quickstart.sh)
    BENCH_BREAKDOWN=1 bench/admin/run.py    # also when each step of a fresh tab's load happens

Without --url, the demo province is started by the integration tests'
fixture (tests/integration/harness.py: private slapd, homthuctl demo ldif,
homthud on free loopback ports) from HOMTHU_BIN (default build/bin).
Python standard library only; the render figure needs node, Debian's
chromium and tests/browser's playwright-core (npm ci --prefix tests/browser),
and is skipped, with a note, without them. The page loads trust the server's
certificate as a browser trusts the real one (render.mjs).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


class Client:
    """HTTPS to the admin port; a new connection per call (as a script or a
    browser tab after a pause would) or one kept alive."""

    def __init__(self, host, port, keep_alive):
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.cookie = None
        self.conn = None

    def request(self, method, path, body=None):
        if self.conn is None or not self.keep_alive:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
        headers = {"Host": "localhost:%d" % self.port}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.cookie:
            headers["Cookie"] = "__Host-homthu=" + self.cookie
        self.conn.request(method, path, body=payload, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        if not self.keep_alive:
            self.conn.close()
        return r.status, r.getheader("Set-Cookie"), data

    def sign_in(self, login, password):
        status, cookie, data = self.request("POST", "/api/v1/session", {"login": login, "password": password})
        if status != 200:
            raise SystemExit("sign-in as %s failed: %d %s" % (login, status, data[:200]))
        self.cookie = cookie.split(";", 1)[0].split("=", 1)[1]


def fold(s):
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn").lower()


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def calls(accounts, units, n, rng):
    """A mix like an administrator's: paging, searching by name (with and
    without diacritics), by address, by unit."""
    out = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.append(("list", "/api/v1/accounts?limit=50&offset=%d" % (rng.randrange(0, max(1, len(accounts) - 50)))))
        elif kind == 1:
            a = rng.choice(accounts)
            out.append(("search-name", "/api/v1/accounts?limit=50&q=" + urllib.parse.quote(a["name"])))
        elif kind == 2:
            a = rng.choice(accounts)
            out.append(("search-folded", "/api/v1/accounts?limit=50&q=" + urllib.parse.quote(fold(a["name"]))))
        elif kind == 3:
            a = rng.choice(accounts)
            out.append(("search-address", "/api/v1/accounts?limit=50&q=" + urllib.parse.quote(a["address"])))
        else:
            out.append(("unit", "/api/v1/accounts?limit=50&unit=" + urllib.parse.quote(rng.choice(units))))
    return out


def measure(client, plan):
    times = {}
    for kind, path in plan:
        t0 = time.perf_counter()
        status, _, _ = client.request("GET", path)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise SystemExit("%s answered %d" % (path, status))
        times.setdefault(kind, []).append(ms)
        times.setdefault("all", []).append(ms)
    return times


def row(label, xs):
    return "| %s | %d | %.1f | %.1f | %.1f |" % (label, len(xs), percentile(xs, 50), percentile(xs, 95), max(xs))


def render(url, login, password, runs, cert):
    node = shutil.which("node")
    pw = os.path.join(ROOT, "tests", "browser", "node_modules", "playwright-core")
    if not node or not os.path.exists("/usr/bin/chromium") or not os.path.isdir(pw):
        return None, "render: skipped (needs node, /usr/bin/chromium and npm ci --prefix tests/browser)"
    env = dict(os.environ, HOMTHU_ADMIN_URL=url, HOMTHU_LOGIN=login, HOMTHU_PASSWORD=password,
               BENCH_RUNS=str(runs), HOMTHU_ADMIN_CERT=cert or "")
    r = subprocess.run([node, os.path.join(HERE, "render.mjs")], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return None, "render: failed\n" + r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="admin URL of a running homthu (default: start one)")
    ap.add_argument("--login", default="admin@thainguyen.gov.vn")
    ap.add_argument("--password", default=os.environ.get("HOMTHU_DEMO_PASSWORD"))
    ap.add_argument("--cert", help="with --url: the server's certificate (PEM), trusted by the page loads as a "
                    "real browser trusts the real one")
    ap.add_argument("--users", type=int, default=9000, help="demo accounts when starting one (default 9000)")
    ap.add_argument("--calls", type=int, default=500, help="API calls per connection mode (default 500)")
    ap.add_argument("--renders", type=int, default=20, help="page loads in Chromium (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    h = None
    if args.url:
        if not args.password:
            raise SystemExit("--password (or HOMTHU_DEMO_PASSWORD) is needed with --url")
        u = urllib.parse.urlsplit(args.url)
        host, port, password = u.hostname, u.port or 443, args.password
        cert = args.cert
    else:
        sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
        from harness import Homthu
        h = Homthu(users=args.users)
        t0 = time.monotonic()
        h.start()
        print("started homthud with %d demo accounts in %.1f s (%s)" % (args.users, time.monotonic() - t0, h.data_dir),
              file=sys.stderr)
        host, port, password = h.host, h.port("admin"), h.password
        cert = h.cafile
    try:
        rng = random.Random(args.seed)
        probe = Client(host, port, keep_alive=True)
        probe.sign_in(args.login, password)
        # The accounts and units the searches use, from the API itself.
        t0 = time.perf_counter()
        status, _, data = probe.request("GET", "/api/v1/accounts?limit=1")
        cold_ms = (time.perf_counter() - t0) * 1000
        total = json.loads(data)["total"]
        accounts = []
        for off in range(0, total, 500):
            _, _, data = probe.request("GET", "/api/v1/accounts?limit=500&offset=%d" % off)
            accounts += json.loads(data)["accounts"]
        _, _, data = probe.request("GET", "/api/v1/units")
        units = [u["id"] for u in json.loads(data)["units"]]

        lines = ["Admin API over %d accounts (%d units), %d calls per mode, one client, loopback HTTPS." %
                 (total, len(units), args.calls),
                 "",
                 "First list after sign-in (index built from LDAP): %.0f ms" % cold_ms,
                 "",
                 "| calls | n | p50 ms | p95 ms | max ms |",
                 "|---|---|---|---|---|"]
        results = {}
        for mode, keep in (("new connection per call", False), ("keep-alive", True)):
            c = Client(host, port, keep_alive=keep)
            c.cookie = probe.cookie
            t = measure(c, calls(accounts, units, args.calls, rng))
            results[mode] = t
            lines.append(row("**%s**" % mode, t["all"]))
            for kind in ("list", "search-name", "search-folded", "search-address", "unit"):
                lines.append(row("  %s" % kind, t[kind]))
        url = "https://localhost:%d" % port
        fig, note = render(url, args.login, password, args.renders, cert)
        lines.append("")
        if fig:
            lines.append("Accounts page in headless Chromium (%d runs): full load to the first table row "
                         "p50 %.0f ms, p95 %.0f ms; from the menu click p50 %.0f ms, p95 %.0f ms."
                         % (fig["runs"], fig["load_p50"], fig["load_p95"], fig["nav_p50"], fig["nav_p95"]))
            if "steps_p50" in fig:  # BENCH_BREAKDOWN=1
                lines.append("Steps of a fresh tab's load, p50 ms from navigation start: " +
                             ", ".join("%s %.1f" % kv for kv in fig["steps_p50"].items()))
        else:
            lines.append(note)
        p95 = percentile(results["new connection per call"]["all"], 95)
        lines.append("")
        lines.append("Goal: API p95 <= 50 ms (%s: %.1f ms, new connection per call)%s" % (
            "met" if p95 <= 50 else "NOT met", p95,
            "; first render <= 300 ms (full load in a fresh tab: p50 %.0f ms, %s; p95 %.0f ms, %s)" % (
                fig["load_p50"], "met" if fig["load_p50"] <= 300 else "NOT met",
                fig["load_p95"], "met" if fig["load_p95"] <= 300 else "NOT met") if fig else ""))
        print("\n".join(lines))
    finally:
        if h:
            h.stop()


if __name__ == "__main__":
    main()
