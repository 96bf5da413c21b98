"""SMTP end to end with clients nobody here wrote: Python smtplib (submission
over STARTTLS and over implicit TLS), swaks and curl; delivery checked in the
recipient's INBOX over IMAP; outbound mail to a loopback aiosmtpd server;
bounces; the queue across a restart."""

import imaplib
import smtplib
import subprocess
import time
import unittest
import uuid

from harness import Homthu, free_port
from smtp_peer import Peer

# Debian's python3-aiosmtpd, installed by packaging/install-deps.sh: a missing
# dependency fails the suite rather than skipping it.
from aiosmtpd.controller import Controller


# SPF/DKIM/DMARC lookups go to a closed loopback port: answered at once
# with temperror, and nothing leaves the machine.
NO_DNS = 'dns_servers = ["127.0.0.1:9"]\n'


def wait_until(pred, timeout=30.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


def inbox_subjects(h, account):
    """Subjects in the account's INBOX, read over IMAPS with the demo password."""
    ctx = h.ssl_context()
    with imaplib.IMAP4_SSL(h.host, h.port("imaps"), ssl_context=ctx, timeout=20) as m:
        m.login(account["address"], h.password)
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "ALL")
        ids = data[0].split()
        subjects = []
        for i in ids:
            typ, msg = m.fetch(i, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            for part in msg:
                if isinstance(part, tuple):
                    subjects.append(part[1].decode("utf-8", "replace").strip())
        return subjects


def message(sender, rcpt, subject, body="Kinh gui.\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\n%s"
            % (sender, rcpt, subject, uuid.uuid4().hex, body)).encode()


class Sink:
    """A loopback SMTP server recording what it receives; answers RCPT for
    addresses starting with "reject" with 550 and "defer" with 451."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.startswith("reject"):
                    return "550 5.1.1 no such user here"
                if address.startswith("defer"):
                    return "451 4.3.0 try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 2.0.0 stored"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class SmtpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink().__enter__()
        cls.h = Homthu(users=20, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n%s' % (cls.sink.port, NO_DNS))
        cls.h.start()
        cls.a = cls.h.account(0)
        cls.b = cls.h.account(1)

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.sink.__exit__()

    def submit_starttls(self, sender, rcpts, msg):
        with smtplib.SMTP(self.h.host, self.h.port("submission"), timeout=30) as s:
            s.ehlo("laptop")
            self.assertNotIn("auth", s.esmtp_features)  # S7: not before TLS
            s.starttls(context=self.h.ssl_context())
            s.ehlo("laptop")
            s.login(sender["address"], self.h.password)
            return s.sendmail(sender["address"], rcpts, msg)

    def test_submission_starttls_lands_in_inbox(self):
        subject = "Giay moi hop %s" % uuid.uuid4().hex[:8]
        refused = self.submit_starttls(self.a, [self.b["address"]], message(self.a["address"], self.b["address"], subject))
        self.assertEqual(refused, {})
        self.assertTrue(wait_until(lambda: any(subject in s for s in inbox_subjects(self.h, self.b)), 20))

    def test_submissions_implicit_tls(self):
        subject = "Implicit TLS %s" % uuid.uuid4().hex[:8]
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            s.login(self.b["address"], self.h.password)
            s.sendmail(self.b["address"], [self.a["address"]], message(self.b["address"], self.a["address"], subject))
        self.assertTrue(wait_until(lambda: any(subject in s for s in inbox_subjects(self.h, self.a)), 20))

    def test_auth_refused_before_starttls_and_on_port_25(self):
        with smtplib.SMTP(self.h.host, self.h.port("submission"), timeout=30) as s:
            s.ehlo("laptop")
            code, _ = s.docmd("AUTH", "PLAIN AGEAYg==")
            self.assertEqual(code, 530)
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.ehlo("client.example.org")
            self.assertNotIn("auth", s.esmtp_features)
            code, _ = s.docmd("AUTH", "PLAIN AGEAYg==")
            self.assertEqual(code, 503)

    def test_wrong_password(self):
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login(self.a["address"], "not-the-password")
            self.assertEqual(cm.exception.smtp_code, 535)

    def test_mx_unknown_user_and_no_relay(self):
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.ehlo("client.example.org")
            s.mail("someone@example.org")
            code, msg = s.rcpt("nobody-%s@thainguyen.gov.vn" % uuid.uuid4().hex[:6])
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", msg)
            code, msg = s.rcpt("victim@example.net")
            self.assertEqual(code, 554)
            self.assertIn(b"5.7.1", msg)

    def test_mx_inbound_from_outside(self):
        subject = "Tu ben ngoai %s" % uuid.uuid4().hex[:8]
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.sendmail("partner@example.org", [self.a["address"]], message("partner@example.org", self.a["address"], subject))
        self.assertTrue(wait_until(lambda: any(subject in s for s in inbox_subjects(self.h, self.a)), 20))
        # What a user sees in "view source": the checks of RFC 8601, iprev
        # first. The test resolver never answers, so the reverse lookup is a
        # temperror (never a fail).
        with imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=20) as m:
            m.login(self.a["address"], self.h.password)
            m.select("INBOX", readonly=True)
            typ, data = m.search(None, "SUBJECT", '"%s"' % subject)
            uid = data[0].split()[-1]
            typ, msg = m.fetch(uid, "(BODY.PEEK[HEADER.FIELDS (AUTHENTICATION-RESULTS)])")
            field = msg[0][1].decode()
        self.assertRegex(field, r"^Authentication-Results: localhost;\r\n\tiprev=temperror policy\.iprev=127\.0\.0\.1;"
                                r"\r\n\tspf=\w+ smtp\.mailfrom=example\.org;")

    def test_swaks_submission(self):
        subject = "swaks %s" % uuid.uuid4().hex[:8]
        r = subprocess.run(["swaks", "--server", self.h.host, "--port", str(self.h.port("submission")),
                            "--tls", "--tls-verify", "--tls-ca-path", self.h.cafile,
                            "--auth", "PLAIN", "--auth-user", self.a["address"], "--auth-password", self.h.password,
                            "--from", self.a["address"], "--to", self.b["address"],
                            "--header", "Subject: " + subject, "--pipeline"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(wait_until(lambda: any(subject in s for s in inbox_subjects(self.h, self.b)), 20))

    def test_curl_smtps(self):
        subject = "curl %s" % uuid.uuid4().hex[:8]
        body = message(self.b["address"], self.a["address"], subject)
        r = subprocess.run(["curl", "-sS", "--cacert", self.h.cafile,
                            "--url", "smtps://localhost:%d" % self.h.port("smtps"),
                            "--user", "%s:%s" % (self.b["address"], self.h.password),
                            "--mail-from", self.b["address"], "--mail-rcpt", self.a["address"],
                            "--upload-file", "-"], input=body, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertTrue(wait_until(lambda: any(subject in s for s in inbox_subjects(self.h, self.a)), 20))

    def test_outbound_reaches_remote_server(self):
        subject = "Ra ngoai %s" % uuid.uuid4().hex[:8]
        self.submit_starttls(self.a, ["partner@example.org"], message(self.a["address"], "partner@example.org", subject))
        found = lambda: any(subject.encode() in m[2] for m in self.sink.messages)
        self.assertTrue(wait_until(found, 30), self.h.log_text()[-3000:])
        mail_from, rcpts, content = next(m for m in self.sink.messages if subject.encode() in m[2])
        self.assertEqual(mail_from, self.a["address"])
        self.assertEqual(rcpts, ["partner@example.org"])
        self.assertIn(b"Received: from laptop", content)

    def test_remote_failure_bounces_to_sender(self):
        subject = "Se bi tra lai %s" % uuid.uuid4().hex[:8]
        self.submit_starttls(self.b, ["reject-me@example.org"], message(self.b["address"], "reject-me@example.org", subject))
        self.assertTrue(wait_until(
            lambda: any("Undelivered Mail Returned to Sender" in s for s in inbox_subjects(self.h, self.b)), 30),
            self.h.log_text()[-3000:])

    def test_sender_must_be_own_address(self):
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            s.login(self.a["address"], self.h.password)
            code, msg = s.mail(self.b["address"])
            self.assertEqual(code, 553)
            self.assertIn(b"5.7.1", msg)


class QueueRestartTest(unittest.TestCase):
    """A message queued for a destination that is down survives a restart
    and is listed, retried and deleted with homthuctl."""

    def test_queue_survives_restart(self):
        dead = free_port()  # nothing listens here
        with Homthu(users=5, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n%s' % (dead, NO_DNS)) as h:
            a = h.account(0)
            with smtplib.SMTP_SSL(h.host, h.port("smtps"), context=h.ssl_context(), timeout=30) as s:
                s.login(a["address"], h.password)
                s.sendmail(a["address"], ["partner@example.org"], message(a["address"], "partner@example.org", "queued"))
            self.assertTrue(wait_until(lambda: "attempts=1" in h.ctl("queue", "show", "1").stdout, 30),
                            h.ctl("queue", "show", "1").stdout + h.log_text()[-2000:])
            listed = h.ctl("queue", "list")
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertIn("1 message(s) in queue", listed.stdout)
            h.restart_homthud()
            listed = h.ctl("queue", "list")
            self.assertIn("1 message(s) in queue", listed.stdout)
            self.assertIn("<partner@example.org> pending", h.ctl("queue", "show", "1").stdout)
            self.assertEqual(h.ctl("queue", "retry", "1").returncode, 0)
            self.assertEqual(h.ctl("queue", "delete", "1").returncode, 0)
            self.assertIn("0 message(s) in queue", h.ctl("queue", "list").stdout)
            self.assertEqual(h.ctl("queue", "show", "1").returncode, 1)


class BinaryRelayTest(unittest.TestCase):
    """RFC 3030: a message sent with BODY=BINARYMIME is relayed by BDAT to a
    server offering BINARYMIME, octet for octet, and bounced (5.6.3) by one
    that does not offer it, never sent through DATA."""

    @classmethod
    def setUpClass(cls):
        cls.peer = Peer(mode="accept", binary=True)
        cls.h = Homthu(users=3, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n%s' % (cls.peer.port, NO_DNS))
        cls.h.start()
        cls.a = cls.h.account(0)

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.peer.close()

    def send_binary(self, subject, content):
        body = ("From: <%s>\r\nTo: <partner@example.org>\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                % (self.a["address"], subject)).encode() + content
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            s.login(self.a["address"], self.h.password)
            s.ehlo("laptop")
            self.assertTrue(s.has_extn("binarymime"))
            self.assertEqual(s.docmd("MAIL FROM:<%s> BODY=BINARYMIME" % self.a["address"])[0], 250)
            self.assertEqual(s.docmd("RCPT TO:<partner@example.org>")[0], 250)
            s.send(b"BDAT %d LAST\r\n" % len(body) + body)
            code, msg = s.getreply()
            self.assertEqual(code, 250, msg)
        return body

    def test_relayed_by_bdat_where_offered(self):
        self.peer.binary = True
        subject = "Nhi phan %s" % uuid.uuid4().hex[:8]
        content = bytes(range(256)) + b"\n.\n\r\n.\r\nEND"  # NUL, bare LF, lone dots
        body = self.send_binary(subject, content)
        found = lambda: any(subject.encode() in d for d in self.peer.received)
        self.assertTrue(wait_until(found, 30), self.h.log_text()[-3000:])
        mail, data = next(m for m in self.peer.messages if subject.encode() in m[1])
        self.assertIn(b"BODY=BINARYMIME", mail)
        self.assertTrue(data.endswith(body), data[-200:])  # after our Received field, unchanged

    def test_bounced_where_not_offered(self):
        self.peer.binary = False
        subject = "Khong ho tro %s" % uuid.uuid4().hex[:8]
        self.send_binary(subject, b"\x00\x01binary\n")
        self.assertTrue(wait_until(
            lambda: any("Undelivered Mail Returned to Sender" in s for s in inbox_subjects(self.h, self.a)), 30),
            self.h.log_text()[-3000:])
        self.assertFalse(any(subject.encode() in d for d in self.peer.received))
        with imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=20) as m:
            m.login(self.a["address"], self.h.password)
            m.select("INBOX", readonly=True)
            typ, data = m.search(None, "SUBJECT", '"Undelivered Mail"')
            typ, msg = m.fetch(data[0].split()[-1], "(BODY.PEEK[TEXT])")
        self.assertIn(b"5.6.3", msg[0][1])


if __name__ == "__main__":
    unittest.main()
