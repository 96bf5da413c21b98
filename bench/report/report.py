#!/usr/bin/python3
"""Turns bench/run.sh results (TSV) into a markdown table with ratios and an
SVG bar chart (no plotting library needed: the SVG is written by hand).

    report.py results.tsv --date 2026-11-28 --machine "2 cores" --markdown out.md --svg out.svg

Figure per case: messages per second until the last message is in its
mailbox (homthu: the 250 comes after the mailbox commit; Postfix: until
Dovecot's maildir holds them all). Postfix's rate of 250 replies is shown
beside it.

--other FILE adds a second table from rows "metric, system (homthu|peer),
value, unit" (the list, IMAP and memory figures), with homthu's advantage:
value ratio for rates (unit "/s"), inverse ratio for times and memory.
"""

import argparse
import csv
import html


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            n = int(r["messages"])
            r["rate"] = n / float(r["inbox_s"]) if float(r["inbox_s"]) > 0 else 0.0
            r["accept_rate"] = n / float(r["accepted_s"]) if float(r["accepted_s"]) > 0 else 0.0
            r["size"], r["conns"] = int(r["size"]), int(r["conns"])
            r["failed"] = r.get("failed", "0") == "1"
            rows.append(r)
    return rows


def cases(rows):
    seen = []
    for r in rows:
        k = (r["size"], r["conns"])
        if k not in seen:
            seen.append(k)
    return seen


def label(size, conns):
    return "%s, %d conn" % ("%d KB" % (size // 1024), conns)


def markdown(rows, date, machine, note=""):
    by = {(r["system"], r["size"], r["conns"]): r for r in rows}
    has_peer = any(r["system"] == "postfix" for r in rows)
    out = ["# homthu vs Postfix + Dovecot", "", "## SMTP delivery", "",
           "Date: %s. Machine: %s. Loopback, smtp-source, each connection to its own recipient." % (date, machine)]
    if note:
        out.append(note)
    out.append("")
    if has_peer:
        out += ["| case | messages | homthu msg/s (in mailbox) | Postfix+Dovecot msg/s (in mailbox) | Postfix 250/s | ratio homthu/peer |",
                "|---|---:|---:|---:|---:|---:|"]
    else:
        out += ["| case | messages | homthu msg/s (in mailbox) |", "|---|---:|---:|"]
    for size, conns in cases(rows):
        h = by.get(("homthu", size, conns))
        p = by.get(("postfix", size, conns))
        hs = "%.1f%s" % (h["rate"], " (failures)" if h["failed"] else "") if h else "-"
        if has_peer:
            ps = "%.1f%s" % (p["rate"], " (failures)" if p["failed"] else "") if p else "-"
            pa = "%.1f" % p["accept_rate"] if p else "-"
            ratio = "%.2f" % (h["rate"] / p["rate"]) if h and p and p["rate"] > 0 else "-"
            out.append("| %s | %s | %s | %s | %s | %s |" % (label(size, conns), h["messages"] if h else "-", hs, ps, pa, ratio))
        else:
            out.append("| %s | %s | %s |" % (label(size, conns), h["messages"] if h else "-", hs))
    out.append("")
    return "\n".join(out)


def load_other(path):
    with open(path, encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r.get("value")]


def other_markdown(rows):
    metrics, by = [], {}
    for r in rows:
        # The N of a memory row is part of its name; pair rows by the name
        # without it so that homthu and the peer share a line.
        key = r["metric"].split(", N=")[0]
        if key not in metrics:
            metrics.append(key)
        by[(key, r["system"])] = r
    has_peer = any(r["system"] == "peer" for r in rows)
    out = ["## Lists, IMAP and memory", ""]
    if has_peer:
        out += ["| figure | homthu | Postfix+Dovecot | homthu advantage |", "|---|---:|---:|---:|"]
    else:
        out += ["| figure | homthu |", "|---|---:|"]
    for m in metrics:
        h, p = by.get((m, "homthu")), by.get((m, "peer"))
        unit = (h or p)["unit"]

        def cell(r):
            if not r:
                return "-"
            n = r["metric"].split(", N=")
            return "%s %s%s" % (r["value"], unit, " (N=%s)" % n[1] if len(n) > 1 else "")

        if has_peer:
            adv = "-"
            if h and p and float(h["value"]) > 0 and float(p["value"]) > 0:
                hv, pv = float(h["value"]), float(p["value"])
                adv = "%.2f×" % (hv / pv if unit == "/s" else pv / hv)
            out.append("| %s | %s | %s | %s |" % (m, cell(h), cell(p), adv))
        else:
            out.append("| %s | %s |" % (m, cell(h)))
    out.append("")
    return "\n".join(out)


def svg(rows, date):
    systems = [s for s in ("homthu", "postfix") if any(r["system"] == s for r in rows)]
    colors = {"homthu": "#c0392b", "postfix": "#2c3e50"}
    names = {"homthu": "homthu", "postfix": "Postfix + Dovecot"}
    cs = cases(rows)
    by = {(r["system"], r["size"], r["conns"]): r["rate"] for r in rows}
    top = max([v for v in by.values()] + [1.0])
    w, h, left, bottom, topm = 120 * len(cs) + 80, 360, 60, 60, 40
    plot_h = h - bottom - topm
    bar_w = 80 / max(len(systems), 1)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (w, h),
             '<text x="%d" y="20" font-size="14">SMTP messages/s into the mailbox (%s)</text>' % (left, html.escape(date)),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (left, h - bottom, w - 10, h - bottom)]
    for i in range(5):
        v = top * i / 4
        y = h - bottom - plot_h * i / 4
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (left - 5, y + 4, v))
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y, w - 10, y))
    for ci, (size, conns) in enumerate(cs):
        x0 = left + 20 + ci * 120
        for si, s in enumerate(systems):
            v = by.get((s, size, conns), 0.0)
            bh = plot_h * v / top
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %.1f</title></rect>'
                         % (x0 + si * bar_w, h - bottom - bh, bar_w - 4, bh, colors[s], names[s], v))
        parts.append('<text x="%d" y="%d" text-anchor="middle">%s</text>' % (x0 + 40, h - bottom + 16, html.escape(label(size, conns))))
    for si, s in enumerate(systems):
        parts.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>'
                     % (left + si * 160, h - 22, colors[s], left + si * 160 + 16, h - 12, names[s]))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--date", required=True)
    ap.add_argument("--machine", default="")
    ap.add_argument("--note", default="")
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--other")
    a = ap.parse_args()
    rows = load(a.results)
    if not rows:
        raise SystemExit("report: no results in %s" % a.results)
    with open(a.markdown, "w", encoding="utf-8") as f:
        f.write(markdown(rows, a.date, a.machine, a.note))
        if a.other:
            other = load_other(a.other)
            if other:
                f.write("\n" + other_markdown(other))
        f.write("\n![chart](%s)\n" % a.svg.rsplit("/", 1)[-1])
    with open(a.svg, "w", encoding="utf-8") as f:
        f.write(svg(rows, a.date))


if __name__ == "__main__":
    main()
