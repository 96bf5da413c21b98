#!/usr/bin/python3
"""SMTP delivery benchmark: messages accepted (and so durably delivered into
a mailbox, the 250 comes after the commit) per second, for 4 KB and 100 KB
messages at 1, 10 and 50 concurrent connections, over port 25 from the
outside (no TLS, no AUTH), to local recipients spread over the demo accounts.

Each run is bounded in count (--messages) and time (--seconds), whichever
comes first. Starts its own slapd + homthud through the integration harness
unless --host/--port point at a running instance.

    HOMTHU_BIN=build/bin python3 bench/smtp/run.py [--messages 2000] [--seconds 20]

With --latency SYSTEM --port PORT --accounts TSV it measures a running server
instead (homthu, or Postfix for bench/run.sh): the time of each whole
transaction (MAIL FROM to the 250 after the content) on kept connections,
printed as p50/p99 rows "metric<TAB>system<TAB>ms<TAB>ms".
"""

import argparse
import os
import resource
import smtplib
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))


def body(size, i):
    head = ("From: <bench@example.org>\r\nTo: <x@thainguyen.gov.vn>\r\nSubject: bench %d\r\n"
            "Message-ID: <bench-%d@example.org>\r\n\r\n" % (i, i))
    line = "Lorem ipsum dolor sit amet, hanh chinh cong, so noi vu tinh Thai Nguyen.\r\n"
    text = head
    while len(text) < size:
        text += line
    return text[:size - 2].encode() + b"\r\n"


def run(host, port, rcpts, size, conns, total, seconds, latencies=None):
    lock = threading.Lock()
    state = {"sent": 0, "errors": 0, "next": 0}
    deadline = time.monotonic() + seconds
    payloads = [body(size, i) for i in range(16)]

    def worker(k):
        try:
            s = smtplib.SMTP(host, port, timeout=60)
            s.ehlo("bench.example.org")
        except Exception:
            with lock:
                state["errors"] += 1
            return
        while time.monotonic() < deadline:
            with lock:
                if state["next"] >= total:
                    break
                i = state["next"]
                state["next"] += 1
            try:
                t0 = time.monotonic()
                s.sendmail("bench@example.org", [rcpts[i % len(rcpts)]], payloads[i % len(payloads)])
                took = time.monotonic() - t0
                with lock:
                    state["sent"] += 1
                    if latencies is not None:
                        latencies.append(took)
            except Exception:
                with lock:
                    state["errors"] += 1
                try:
                    s.rset()
                except Exception:
                    break
        try:
            s.quit()
        except Exception:
            pass

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return state["sent"], state["errors"], elapsed


def peak_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000, help="per run, at most")
    ap.add_argument("--seconds", type=float, default=20.0, help="per run, at most")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--sizes", default="4096,102400")
    ap.add_argument("--conns", default="1,10,50")
    ap.add_argument("--config-extra", default="", help="more TOML sections for homthu.toml")
    ap.add_argument("--latency", metavar="SYSTEM", help="measure a running server, name it SYSTEM in the rows")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--accounts", help="accounts.tsv of the demo province (first column: address)")
    args = ap.parse_args()
    args.messages = max(1, min(args.messages, 100000))
    args.seconds = max(1.0, min(args.seconds, 600.0))

    if args.latency:
        with open(args.accounts, encoding="utf-8") as f:
            rcpts = [line.split("\t")[0] for line in f.read().splitlines()[1:] if line][:60]
        for size in [int(x) for x in args.sizes.split(",")]:
            for conns in [int(x) for x in args.conns.split(",")]:
                lat = []
                sent, errors, _ = run(args.host, args.port, rcpts, size, conns, args.messages, args.seconds, lat)
                lat.sort()
                if errors:
                    print("# %s: %d errors" % (args.latency, errors), file=sys.stderr)
                for p in (50, 99):
                    v = lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] * 1000.0 if lat else 0.0
                    print("SMTP transaction latency p%d (%d KB, %d conn)\t%s\t%.1f\tms"
                          % (p, size // 1024, conns, args.latency, v), flush=True)
        return

    from harness import Homthu
    # SPF/DKIM/DMARC lookups to a closed loopback port: the benchmark stays
    # on this machine (each check then ends in temperror at once).
    h = Homthu(users=args.users, config_extra='[smtp]\ndns_servers = ["127.0.0.1:9"]\n' + args.config_extra)
    h.start()
    try:
        rcpts = [a["address"] for a in h.accounts]
        print("size\tconns\tmsgs\terrors\tseconds\tmsg/s")
        for size in [int(x) for x in args.sizes.split(",")]:
            for conns in [int(x) for x in args.conns.split(",")]:
                sent, errors, elapsed = run(h.host, h.port("smtp"), rcpts, size, conns, args.messages, args.seconds)
                print("%d\t%d\t%d\t%d\t%.1f\t%.0f" % (size, conns, sent, errors, elapsed, sent / elapsed if elapsed else 0),
                      flush=True)
        print("homthud peak RSS: %d KiB" % peak_rss_kb(h.proc.pid))
    finally:
        h.stop()


if __name__ == "__main__":
    main()
