#!/usr/bin/python3
"""Province-wide list benchmark: one message to toantinh@ (every account of
the demo province) and the time until it is in every INBOX.

homthu answers 250 only after every local copy is committed, so its "in
every INBOX" time is the 250; the script checks that by counting the copies
in homthu's own database (read-only). Postfix answers 250 once the message is
queued, then expands the virtual alias and hands each copy to Dovecot over
LMTP; the script counts new files in Dovecot's maildirs until every account
has one. Bounded in time (--seconds). Loopback only.

    run.py homthu --smtp 127.0.0.1:23587 --user admin@thainguyen.gov.vn --password P \
        --store DATA/mail/mail.db --expect 9000
    run.py peer --smtp 127.0.0.1:25025 --maildir DATA/peers/mail --expect 9000

Prints a summary on stderr and, for bench/run.sh, two TSV rows (metric,
system, value, unit) on stdout: the time to the 250 and to every INBOX.
"""

import argparse
import os
import smtplib
import sqlite3
import ssl
import sys
import time
import uuid


def message(sender, to, msgid):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: Thong bao toan tinh\r\nMessage-ID: <%s>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" % (sender, to, msgid)
            + "Kinh gui toan the can bo, cong chuc tinh Thai Nguyen.\r\n" * 40).encode()


def count_homthu(db, msgid):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        row = con.execute("SELECT count(*) FROM messages m JOIN blobs b ON b.id = m.blob_id "
                          "WHERE b.message_id = ?", ("<%s>" % msgid,)).fetchone()
        if row[0] == 0:  # stored without angle brackets
            row = con.execute("SELECT count(*) FROM messages m JOIN blobs b ON b.id = m.blob_id "
                              "WHERE b.message_id = ?", (msgid,)).fetchone()
        return row[0]
    finally:
        con.close()


def count_maildir(root):
    n = 0
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) == "new":
            n += len(files)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("system", choices=("homthu", "peer"))
    ap.add_argument("--smtp", required=True, help="HOST:PORT")
    ap.add_argument("--to", default="toantinh@thainguyen.gov.vn")
    ap.add_argument("--sender", default="admin@thainguyen.gov.vn")
    ap.add_argument("--user", help="AUTH user (after STARTTLS)")
    ap.add_argument("--password")
    ap.add_argument("--store", help="homthu's mail.db")
    ap.add_argument("--maildir", help="the peer's maildir root")
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=600)
    a = ap.parse_args()
    host, port = a.smtp.rsplit(":", 1)
    msgid = "toantinh-%s@bench.thainguyen.gov.vn" % uuid.uuid4().hex
    before = count_maildir(a.maildir) if a.system == "peer" else 0

    t0 = time.monotonic()
    with smtplib.SMTP(host, int(port), timeout=a.seconds) as s:
        if a.user:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.login(a.user, a.password)
        s.sendmail(a.sender, [a.to], message(a.sender, a.to, msgid))
    accepted = time.monotonic() - t0

    deadline = t0 + a.seconds
    while True:
        if a.system == "homthu":
            got = count_homthu(a.store, msgid)
        else:
            got = count_maildir(a.maildir) - before
        if got >= a.expect or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    done = time.monotonic() - t0
    if got < a.expect:
        print("list %s: 250 after %.2f s, only %d of %d INBOXes after %.0f s"
              % (a.system, accepted, got, a.expect, a.seconds), file=sys.stderr)
        return 1
    print("list %s %d copies: 250 after %.2f s, in every INBOX after %.2f s"
          % (a.system, got, accepted, done), file=sys.stderr)
    print("List of %d: 250 reply\t%s\t%.2f\ts" % (a.expect, a.system, accepted))
    print("List of %d: in every INBOX\t%s\t%.2f\ts" % (a.expect, a.system, done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
