"""Crash consistency (RELIABILITY.md D1, D7, the promise of RFC 5321 §6.1).

homthud is killed with SIGKILL at a random moment while SMTP clients deliver
to local accounts and an IMAP client appends, flags and expunges. After each
kill:
- `homthuctl fsck` on the crashed store reports no problem (garbage left by
  the crash, such as temp files, is allowed: fsck lists it apart);
- after restart, every message acknowledged with 250 (SMTP) or OK (APPEND)
  is present exactly once; a message whose acknowledgement was lost is
  present at most once; a message whose UID EXPUNGE was answered OK never
  comes back; a flag whose STORE was answered OK is still set.

SIGKILL ends the process, not the machine: the page cache survives, so this
checks process-crash atomicity (D1, D7), not power loss (D2).

Bounded: ROUNDS rounds of at most ~3 s of load each; every socket has a
timeout. HOMTHU_CRASH_ROUNDS raises the count for a long run.
"""

import imaplib
import os
import random
import re
import signal
import smtplib
import threading
import time
import unittest
import uuid

from harness import Homthu

ROUNDS = int(os.environ.get("HOMTHU_CRASH_ROUNDS", "8"))
SMTP_THREADS = 3
TOKEN = re.compile(rb"ck-[0-9a-f]{8}-[0-9a-z-]+")
APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


def message(to, token):
    return ("From: <sender@example.org>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n"
            "\r\nKinh gui %s\r\n" % (to, token, token, token)).encode()


class Ledger:
    """What clients were told, shared by the load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}         # token -> account address, acknowledged (250 / OK)
        self.unknown = {}       # token -> account address, reply lost in the crash
        self.expunged = set()   # tokens whose UID EXPUNGE was answered OK
        self.maybe_expunged = set()
        self.flagged = set()    # tokens whose STORE +FLAGS (\Flagged) was answered OK

    def add(self, kind, token, address):
        with self.lock:
            getattr(self, kind)[token] = address


class CrashTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=6)
        cls.h.start()
        cls.rng = random.Random(int(os.environ.get("HOMTHU_CRASH_SEED", "8")))
        cls.run_id = uuid.uuid4().hex[:8]

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    # --- load -------------------------------------------------------------------

    def smtp_load(self, ledger, stop, rnd, t):
        h = self.h
        to = h.accounts[t % 4]["address"]
        n = 0
        deadline = time.monotonic() + 15
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with smtplib.SMTP(h.host, h.port("smtp"), timeout=10) as s:
                    while not stop.is_set() and time.monotonic() < deadline:
                        n += 1
                        token = "ck-%s-r%d-s%d-%d" % (self.run_id, rnd, t, n)
                        try:
                            s.sendmail("sender@example.org", [to], message(to, token))
                        except smtplib.SMTPResponseException as e:
                            if 400 <= e.smtp_code < 500:
                                continue  # refused: must never appear (checked as "unknown": at most once)
                            raise
                        except (OSError, smtplib.SMTPException):
                            ledger.add("unknown", token, to)
                            raise
                        ledger.add("acked", token, to)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    def imap_load(self, ledger, stop, rnd):
        h = self.h
        account = h.accounts[4]["address"]
        n = 0
        deadline = time.monotonic() + 15
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                m = imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=10)
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.05)
                continue
            try:
                m.login(account, h.password)
                m.select("INBOX")
                mine = []  # (token, uid) appended in this connection
                while not stop.is_set() and time.monotonic() < deadline:
                    n += 1
                    token = "ck-%s-r%d-i-%d" % (self.run_id, rnd, n)
                    try:
                        typ, data = m.append("INBOX", None, None, message(account, token))
                    except (OSError, imaplib.IMAP4.abort):
                        ledger.add("unknown", token, account)
                        raise
                    if typ != "OK":
                        continue
                    ledger.add("acked", token, account)
                    uid = APPENDUID.search(data[0] or b"")
                    if uid:
                        mine.append((token, uid.group(1).decode()))
                    if len(mine) >= 2 and n % 3 == 0:
                        token_f, uid_f = mine.pop(0)
                        typ, _ = m.uid("STORE", uid_f, "+FLAGS", "(\\Flagged)")
                        if typ == "OK":
                            with ledger.lock:
                                ledger.flagged.add(token_f)
                    if len(mine) >= 2 and n % 5 == 0:
                        token_x, uid_x = mine.pop(0)
                        with ledger.lock:
                            ledger.maybe_expunged.add(token_x)
                        m.uid("STORE", uid_x, "+FLAGS.SILENT", "(\\Deleted)")
                        typ, _ = m.uid("EXPUNGE", uid_x)
                        if typ == "OK":
                            with ledger.lock:
                                ledger.expunged.add(token_x)
            except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort):
                time.sleep(0.05)
            finally:
                try:
                    m.shutdown()
                except Exception:
                    pass

    # --- checks -----------------------------------------------------------------

    def mailbox_tokens(self, address):
        """token -> (count, flagged) in the account's INBOX."""
        h = self.h
        with imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=30) as m:
            m.login(address, h.password)
            typ, data = m.select("INBOX", readonly=True)
            self.assertEqual(typ, "OK")
            found = {}
            if int(data[0]) == 0:
                return found
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertEqual(typ, "OK")
            for part in data:
                if not isinstance(part, tuple):
                    continue
                tok = TOKEN.search(part[1])
                if not tok:
                    continue
                t = tok.group(0).decode()
                count, flagged = found.get(t, (0, False))
                found[t] = (count + 1, flagged or b"\\Flagged" in part[0])
            return found

    def test_sigkill_under_load(self):
        h = self.h
        ledger = Ledger()
        addresses = [h.accounts[i]["address"] for i in range(5)]
        kills = 0
        for rnd in range(ROUNDS):
            stop = threading.Event()
            threads = [threading.Thread(target=self.smtp_load, args=(ledger, stop, rnd, t)) for t in range(SMTP_THREADS)]
            threads.append(threading.Thread(target=self.imap_load, args=(ledger, stop, rnd)))
            for t in threads:
                t.start()
            time.sleep(self.rng.uniform(0.3, 3.0))
            code = h.stop_homthud(signal.SIGKILL)
            self.assertEqual(code, -signal.SIGKILL)
            kills += 1
            stop.set()
            for t in threads:
                t.join(30)
                self.assertFalse(t.is_alive(), "a load thread did not stop")

            fsck = h.ctl("fsck")
            self.assertEqual(fsck.returncode, 0, "round %d: fsck after SIGKILL:\n%s%s" % (rnd, fsck.stdout, fsck.stderr))
            self.assertNotIn("problem:", fsck.stdout)

            h.start_homthud()
            present = {}
            for a in addresses:
                for t, v in self.mailbox_tokens(a).items():
                    present[t] = (a, v[0], v[1])
            with ledger.lock:
                acked = dict(ledger.acked)
                unknown = dict(ledger.unknown)
                expunged = set(ledger.expunged)
                maybe_expunged = set(ledger.maybe_expunged)
                flagged = set(ledger.flagged)
            for token, addr in acked.items():
                if token in maybe_expunged:
                    continue
                if token not in present:  # the log is read only then: it is large
                    self.fail("round %d: acknowledged %s lost (%s)\n%s" % (rnd, token, addr, h.log_text()[-2000:]))
                self.assertEqual(present[token][1], 1, "round %d: %s stored %d times" % (rnd, token, present[token][1]))
                self.assertEqual(present[token][0], addr)
            for token in unknown:
                if token in present:
                    self.assertEqual(present[token][1], 1, "round %d: %s stored %d times" % (rnd, token, present[token][1]))
            for token in maybe_expunged:
                if token in present:
                    self.assertEqual(present[token][1], 1)
            for token in expunged:
                self.assertNotIn(token, present, "round %d: expunged %s came back" % (rnd, token))
            for token in flagged - maybe_expunged:
                self.assertTrue(present[token][2], "round %d: \\Flagged on %s lost" % (rnd, token))
            # Nothing appears that no client sent.
            sent = set(acked) | set(unknown)
            self.assertLessEqual(set(t for t in present if self.run_id in t), sent)

        self.assertEqual(kills, ROUNDS)
        # The load was real: most rounds acknowledged messages on both protocols.
        self.assertGreater(len(ledger.acked), ROUNDS * 2)
        self.assertTrue(any("-i-" in t for t in ledger.acked), "no APPEND was acknowledged")
        self.assertTrue(any("-s" in t for t in ledger.acked), "no SMTP delivery was acknowledged")
        print("\ncrash: %d kills, %d acknowledged, %d unacknowledged, %d expunged, %d flagged"
              % (kills, len(ledger.acked), len(ledger.unknown), len(ledger.expunged), len(ledger.flagged)))


if __name__ == "__main__":
    unittest.main()
