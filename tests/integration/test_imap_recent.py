"""\\Recent (RFC 3501 §2.3.2) with Python's imaplib against the real daemon:
mail delivered by SMTP is recent to the first session that SELECTs the
mailbox and to no other; EXAMINE shows it without taking it; SEARCH
NEW/RECENT/OLD follow it; a session in IDLE or NOOP is told "* n RECENT"
with "* n EXISTS"; IMAP4rev2 sessions (RFC 9051) see none of it."""

import imaplib
import re
import smtplib
import time
import unittest

from harness import Homthu


def message(to, subject, mid):
    return ("From: Van thu <vanthu@example.org>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s-%f@example.org>\r\nDate: Tue, 5 Mar 2024 10:00:00 +0700\r\n\r\n"
            "Noi dung.\r\n" % (to, subject, mid, time.time())).encode()


class Recent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=6)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def login(self, i):
        m = imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=30)
        m.login(self.h.accounts[i]["address"], self.h.password)
        self.addCleanup(self.logout, m)
        return m

    @staticmethod
    def logout(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def deliver(self, i, subject):
        addr = self.h.accounts[i]["address"]
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.sendmail("vanthu@example.org", [addr], message(addr, subject, subject.replace(" ", "")))

    def open(self, m, examine=False):
        """SELECT or EXAMINE INBOX; returns (EXISTS, RECENT)."""
        typ, data = m.select("INBOX", readonly=examine)
        self.assertEqual(typ, "OK", data)
        _, recent = m.response("RECENT")
        m.response("EXISTS")  # later untagged EXISTS start from empty
        return int(data[0]), int(recent[0])

    def flags(self, m, seq):
        typ, data = m.fetch(str(seq), "(FLAGS)")
        self.assertEqual(typ, "OK", data)
        return data[0].decode()

    def search(self, m, key):
        typ, data = m.search(None, key)
        self.assertEqual(typ, "OK", data)
        return data[0].split()

    def test_first_select_takes_recent_examine_does_not(self):
        self.deliver(0, "Cong van 1")
        reader, phone, desk = self.login(0), self.login(0), self.login(0)
        # EXAMINE sees the message as recent and leaves it so.
        self.assertEqual(self.open(reader, examine=True), (1, 1))
        self.assertIn("\\Recent", self.flags(reader, 1))
        # The first read-write SELECT takes it ...
        self.assertEqual(self.open(phone), (1, 1))
        self.assertIn("\\Recent", self.flags(phone, 1))
        self.assertEqual(self.search(phone, "NEW"), [b"1"])
        self.assertEqual(self.search(phone, "RECENT"), [b"1"])
        self.assertEqual(self.search(phone, "OLD"), [])
        # ... and keeps it for the rest of its selection.
        phone.noop()
        self.assertIn("\\Recent", self.flags(phone, 1))
        # Nobody else gets it.
        self.assertEqual(self.open(desk), (1, 0))
        self.assertNotIn("\\Recent", self.flags(desk, 1))
        self.assertEqual(self.search(desk, "NEW"), [])
        self.assertEqual(self.search(desk, "OLD"), [b"1"])
        typ, data = desk.status("INBOX", "(MESSAGES RECENT)")
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"RECENT 0", data[0])
        # \Recent cannot be stored, only ignored (RFC 3501 §2.3.2).
        typ, data = desk.store("1", "+FLAGS", "(\\Recent)")
        self.assertEqual(typ, "OK", data)
        self.assertNotIn("\\Recent", self.flags(desk, 1))

    def test_idle_session_is_told_recent_with_exists(self):
        watcher, other = self.login(1), self.login(1)
        self.assertEqual(self.open(watcher), (0, 0))
        tag = watcher._new_tag()
        watcher.send(tag + b" IDLE\r\n")
        self.assertTrue(watcher.readline().startswith(b"+"))
        self.deliver(1, "Giay moi hop")
        watcher.sock.settimeout(10)
        seen = []
        while not (b"* 1 EXISTS" in seen and b"* 1 RECENT" in seen) and len(seen) < 10:
            seen.append(watcher.readline().rstrip(b"\r\n"))
        self.assertIn(b"* 1 EXISTS", seen)
        self.assertIn(b"* 1 RECENT", seen)
        self.assertLess(seen.index(b"* 1 EXISTS"), seen.index(b"* 1 RECENT"))
        watcher.send(b"DONE\r\n")
        self.assertTrue(watcher.readline().startswith(tag + b" OK"))
        self.assertIn("\\Recent", self.flags(watcher, 1))
        self.assertEqual(self.search(watcher, "NEW"), [b"1"])
        # The watcher took it when it saw it: a later SELECT does not.
        self.assertEqual(self.open(other), (1, 0))

    def test_noop_reports_recent(self):
        m = self.login(2)
        self.assertEqual(self.open(m), (0, 0))
        self.deliver(2, "Thong bao")
        typ, _ = m.noop()
        self.assertEqual(typ, "OK")
        self.assertEqual(m.response("EXISTS")[1], [b"1"])
        self.assertEqual(m.response("RECENT")[1], [b"1"])
        self.assertEqual(self.search(m, "RECENT"), [b"1"])

    def test_imap4rev2_session_sees_and_takes_no_recent(self):
        self.deliver(3, "Bao cao")
        rev2 = self.login(3)
        typ, data = rev2.enable("IMAP4rev2")
        self.assertEqual(typ, "OK", data)
        typ, data = rev2.select("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertIsNone(rev2.response("RECENT")[1][0])
        self.assertNotIn("\\Recent", self.flags(rev2, 1))
        # Still recent for the first IMAP4rev1 session.
        rev1 = self.login(3)
        self.assertEqual(self.open(rev1), (1, 1))
        self.assertTrue(re.search(r"\\Recent", self.flags(rev1, 1)))


if __name__ == "__main__":
    unittest.main()
