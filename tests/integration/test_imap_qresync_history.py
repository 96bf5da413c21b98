"""QRESYNC (RFC 7162) after the expunged-uid history was trimmed, with
Python's imaplib against the real daemon. The daemon keeps only the newest
two expunge entries per mailbox ([storage] expunge_history_keep = 2,
expunge_history_days = 0). A client resynchronising from before the trimmed
point still learns of every message it knew that is gone (VANISHED (EARLIER),
RFC 7162 §3.2.5.2), of none that is still there, and, the history being
gone, also of uids that went before its last sync; one resynchronising from
within the kept history gets the exact list."""

import imaplib
import time
import unittest

from harness import Homthu


def message(subject):
    return ("From: Van thu <vanthu@thainguyen.gov.vn>\r\nSubject: %s\r\n"
            "Message-ID: <%s-%f@thainguyen.gov.vn>\r\nDate: Tue, 5 Mar 2024 10:00:00 +0700\r\n\r\n"
            "Noi dung.\r\n" % (subject, subject.replace(" ", ""), time.time())).encode()


class QresyncHistory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=3, config_extra="[storage]\nexpunge_history_keep = 2\nexpunge_history_days = 0\n")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def login(self):
        m = imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=30)
        m.login(self.h.accounts[0]["address"], self.h.password)
        self.addCleanup(lambda: m.shutdown())
        return m

    def state(self, m):
        """SELECT INBOX; returns (UIDVALIDITY, HIGHESTMODSEQ)."""
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        _, validity = m.response("UIDVALIDITY")
        _, modseq = m.response("HIGHESTMODSEQ")
        return int(validity[-1]), int(modseq[-1])

    def expunge(self, m, uids):
        typ, data = m.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(typ, "OK", data)
        typ, data = m.uid("EXPUNGE", uids)
        self.assertEqual(typ, "OK", data)

    def resync(self, validity, modseq, known="1:6"):
        """A new session's SELECT INBOX (QRESYNC ...); returns its VANISHED (EARLIER) sets."""
        m = self.login()
        typ, data = m.enable("QRESYNC")
        self.assertEqual(typ, "OK", data)
        typ, data = m._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d %s))" % (validity, modseq, known))
        self.assertEqual(typ, "OK", data)
        m.state = "SELECTED"
        _, vanished = m.response("VANISHED")
        return m, [v.decode() for v in vanished if v is not None]

    def test_resync_before_and_after_the_trimmed_point(self):
        desk = self.login()
        for i in range(6):
            typ, data = desk.append("INBOX", None, None, message("Cong van %d" % i))
            self.assertEqual(typ, "OK", data)
        validity, _ = self.state(desk)
        self.expunge(desk, "1")
        _, phone_knew = self.state(desk)  # a phone synchronised here: 1 already gone
        self.expunge(desk, "2")
        _, after_two = self.state(desk)
        self.expunge(desk, "3")
        self.expunge(desk, "5")
        # Kept: the expunges of 3 and of 5; those of 1 and 2 were trimmed.

        # From within the kept history: exactly what went since.
        _, vanished = self.resync(validity, after_two)
        self.assertEqual(vanished, ["(EARLIER) 3,5"])

        # From before the trimmed point: every uid below UIDNEXT that is gone
        # (1 too, which the phone had already seen go: the server cannot tell
        # any more, and RFC 7162 lets it say so again), never 4 or 6. With the
        # whole history the answer would have been 2:3,5.
        phone, vanished = self.resync(validity, phone_knew)
        self.assertEqual(vanished, ["(EARLIER) 1:3,5"])
        typ, data = phone.uid("FETCH", "1:6", "(FLAGS)")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(sorted(int(d.split(b"UID ")[1].split()[0].rstrip(b")")) for d in data if d), [4, 6])

        # UID FETCH ... (CHANGEDSINCE m VANISHED) answers the same way.
        phone.untagged_responses.pop("VANISHED", None)
        typ, data = phone._simple_command("UID", "FETCH", "1:6", "(FLAGS)",
                                          "(CHANGEDSINCE %d VANISHED)" % phone_knew)
        self.assertEqual(typ, "OK", data)
        _, vanished = phone.response("VANISHED")
        self.assertEqual([v.decode() for v in vanished if v is not None], ["(EARLIER) 1:3,5"])

        # Known uids limit the answer (RFC 7162 §3.2.5): only 5 and 6 known.
        _, vanished = self.resync(validity, phone_knew, known="5:6")
        self.assertEqual(vanished, ["(EARLIER) 5"])


if __name__ == "__main__":
    unittest.main()
