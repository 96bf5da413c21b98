"""Faults below the protocols (RELIABILITY.md L2, D4, D5): each gives a
temporary failure, nothing acknowledged is lost, and service resumes by
itself once the fault is gone.

- slapd stopped: RCPT to a recipient not in the cache gets 451 4.4.3 (never
  550), IMAP LOGIN gets NO [UNAVAILABLE]; both recover when slapd is back.
- data disk full (a small tmpfs mounted as the storage path): deliveries get
  452/451 4.3.x and APPEND gets NO, never 250/OK; nothing half-stored; mail
  flows again once space is freed, and fsck is clean.
- a remote peer (the relayhost, a loopback server here) that drops the
  connection or stalls in the middle of DATA: the message stays queued, is
  retried, and reaches the peer exactly once when it answers again.
"""

import imaplib
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import Homthu
from smtp_peer import Peer


def wait_until(pred, timeout=30.0, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def message(to, subject, body="Kinh gui.\r\n", sender="sender@example.org"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n%s"
            % (sender, to, subject, uuid.uuid4().hex, body)).encode()


def inbox_subjects(h, address):
    with imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=20) as m:
        m.login(address, h.password)
        typ, data = m.select("INBOX", readonly=True)
        if int(data[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [re.sub(r"^Subject: ", "", p[1].decode("utf-8", "replace").strip())
                for p in data if isinstance(p, tuple)]


def deliver(h, to, subject, body="Kinh gui.\r\n"):
    """Delivers over port 25; returns (code, text) of the first refusal, or (250, b"") when accepted."""
    try:
        with smtplib.SMTP(h.host, h.port("smtp"), timeout=30) as s:
            s.sendmail("sender@example.org", [to], message(to, subject, body))
        return 250, b""
    except smtplib.SMTPRecipientsRefused as e:
        return list(e.recipients.values())[0]
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error


class SlapdOutageTest(unittest.TestCase):
    def test_directory_down_gives_temporary_failures_then_recovers(self):
        with Homthu(users=10) as h:
            rcpt = h.accounts[7]["address"]       # never looked up before: not cached
            login = h.accounts[8]["address"]
            h.stop_slapd()
            try:
                with smtplib.SMTP(h.host, h.port("smtp"), timeout=30) as s:
                    s.ehlo("outage.example")
                    self.assertEqual(s.mail("sender@example.org")[0], 250)
                    code, text = s.rcpt(rcpt)
                self.assertEqual(code, 451, text)
                self.assertIn(b"4.4.3", text)
                m = imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=30)
                with self.assertRaises(imaplib.IMAP4.error) as cm:
                    m.login(login, h.password)
                self.assertIn("[UNAVAILABLE]", str(cm.exception))
                # The session is still usable after the NO.
                self.assertEqual(m.noop()[0], "OK")
                m.logout()
            finally:
                h.start_slapd()
            # Recovery needs no restart of homthud.
            self.assertTrue(wait_until(lambda: deliver(h, rcpt, "after outage")[0] == 250, 30),
                            h.log_text()[-2000:])

            def can_login():
                try:
                    with imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=20) as m:
                        return m.login(login, h.password)[0] == "OK"
                except imaplib.IMAP4.error:
                    return False
            self.assertTrue(wait_until(can_login, 30))
            self.assertIn("after outage", inbox_subjects(h, rcpt))


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="homthu-full-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", self.mnt], capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %s" % r.stderr.strip())

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        shutil.rmtree(self.mnt, ignore_errors=True)

    def fill(self):
        """Writes a file until the file system is full; returns its path."""
        path = os.path.join(self.mnt, "filler")
        chunk = b"\0" * (1 << 20)
        with open(path, "wb", buffering=0) as f:
            for size in [1 << 20] * 64 + [4096] * 2048:  # the tmpfs is 32 MiB
                try:
                    if f.write(chunk[:size]) < size:
                        continue
                except OSError:
                    if size == 4096:
                        break
        st = os.statvfs(self.mnt)
        self.assertLess(st.f_bavail * st.f_frsize, 64 * 1024)
        return path

    def test_enospc_gives_4xx_and_delivery_resumes(self):
        extra = '[storage]\npath = "%s"\n' % os.path.join(self.mnt, "mail")
        with Homthu(users=5, config_extra=extra) as h:
            to = h.accounts[0]["address"]
            self.assertEqual(deliver(h, to, "before full")[0], 250)
            filler = self.fill()
            body = ("x" * 76 + "\r\n") * 2000  # 156 KB
            refused = []
            for i in range(3):
                code, text = deliver(h, to, "while full %d" % i, body)
                self.assertNotEqual(code, 250, "accepted a message on a full disk")
                self.assertIn(code, (451, 452), text)
                self.assertRegex(text.decode("utf-8", "replace"), r"4\.3\.\d")
                refused.append("while full %d" % i)
            with imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=h.ssl_context(), timeout=30) as m:
                m.login(to, h.password)
                typ, data = m.append("INBOX", None, None, message(to, "append while full", body))
                self.assertEqual(typ, "NO", data)
            os.unlink(filler)
            self.assertTrue(wait_until(lambda: deliver(h, to, "after space freed")[0] == 250, 30),
                            h.log_text()[-2000:])
            subjects = inbox_subjects(h, to)
            self.assertIn("before full", subjects)
            self.assertIn("after space freed", subjects)
            for s in refused + ["append while full"]:
                self.assertNotIn(s, subjects)
            self.assertEqual(len(subjects), len(set(subjects)))
            h.stop_homthud()
            fsck = h.ctl("fsck")
            self.assertEqual(fsck.returncode, 0, fsck.stdout + fsck.stderr)
            self.assertNotIn("problem:", fsck.stdout)


class RemotePeerFaultTest(unittest.TestCase):
    def queue_show(self, h):
        return h.ctl("queue", "show", "1").stdout

    def run_fault(self, mode):
        peer = Peer()
        try:
            with Homthu(users=5, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n' % peer.port) as h:
                peer.mode = mode
                a = h.accounts[0]
                subject = "peer %s %s" % (mode, uuid.uuid4().hex[:8])
                with smtplib.SMTP_SSL(h.host, h.port("smtps"), context=h.ssl_context(), timeout=30) as s:
                    s.login(a["address"], h.password)
                    s.sendmail(a["address"], ["partner@example.org"], message("partner@example.org", subject, sender=a["address"]))
                self.assertTrue(wait_until(lambda: peer.connections >= 1, 30), h.log_text()[-2000:])
                if mode == "drop":
                    self.assertTrue(wait_until(lambda: "attempts=1" in self.queue_show(h), 30),
                                    self.queue_show(h) + h.log_text()[-2000:])
                else:
                    self.assertTrue(wait_until(lambda: len(peer.stalled) == 1, 30))
                    time.sleep(1)
                    # Still ours while the peer keeps the transaction open.
                    self.assertIn("1 message(s) in queue", h.ctl("queue", "list").stdout)
                    # The stalled peer finally drops the connection.
                    peer.stalled.pop().close()
                    self.assertTrue(wait_until(lambda: "attempts=1" in self.queue_show(h), 30),
                                    self.queue_show(h) + h.log_text()[-2000:])
                self.assertIn("1 message(s) in queue", h.ctl("queue", "list").stdout)
                self.assertIn("<partner@example.org> pending", self.queue_show(h))
                self.assertEqual(peer.received, [])

                # The peer recovers; the retry delivers the message exactly once.
                peer.mode = "accept"
                self.assertEqual(h.ctl("queue", "retry", "1").returncode, 0)
                h.restart_homthud()  # picks up due work at start instead of at the next poll
                self.assertTrue(wait_until(lambda: len(peer.received) >= 1, 60),
                                self.queue_show(h) + h.log_text()[-2000:])
                time.sleep(1)
                self.assertEqual(len(peer.received), 1)
                self.assertIn(subject.encode(), peer.received[0])
                self.assertTrue(wait_until(lambda: "0 message(s) in queue" in h.ctl("queue", "list").stdout, 30))
        finally:
            peer.close()

    def test_peer_drops_mid_data(self):
        self.run_fault("drop")

    def test_peer_stalls_mid_data(self):
        self.run_fault("stall")


if __name__ == "__main__":
    unittest.main()
