"""IMAP with clients nobody here wrote: Python imaplib over 993 and over
143 with STARTTLS, curl imaps://, and mbsync (isync) doing a two-way sync
then an incremental one. Runs against the real daemon and slapd."""

import imaplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Homthu

MESSAGE = (
    "From: Trần Văn B <b@example.com>\r\n"
    "To: {to}\r\n"
    "Subject: =?UTF-8?B?{subject}?=\r\n"
    "Date: Tue, 5 Mar 2024 10:00:00 +0700\r\n"
    "Message-ID: <{mid}@example.com>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "{body}\r\n"
)


def message(to, subject, body, mid):
    import base64
    s = base64.b64encode(subject.encode()).decode()
    return MESSAGE.format(to=to, subject=s, body=body, mid=mid).encode()


class Imap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=5)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def login993(self, i=0):
        m = imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=30)
        m.login(self.h.accounts[i]["address"], self.h.password)
        return m

    def test_starttls_on_143_and_logindisabled_before(self):
        m = imaplib.IMAP4(self.h.host, self.h.port("imap"), timeout=30)
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertIn("STARTTLS", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(self.h.accounts[0]["address"], self.h.password)
        m.starttls(ssl_context=self.h.ssl_context())
        typ, _ = m.login(self.h.accounts[0]["address"], self.h.password)
        self.assertEqual(typ, "OK")
        m.logout()

    def test_wrong_password_is_authenticationfailed(self):
        m = imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=30)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(self.h.accounts[0]["address"], "not-the-password")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))

    def test_append_fetch_store_search_move_expunge(self):
        addr = self.h.accounts[1]["address"]
        m = self.login993(1)
        raw = message(addr, "Công văn về việc hành chính công", "Kính gửi các phòng ban.", "a1")
        typ, data = m.append("INBOX", None, None, raw)
        self.assertEqual(typ, "OK")
        self.assertIn(b"APPENDUID", data[0])
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        n = int(data[0])
        self.assertGreaterEqual(n, 1)
        typ, data = m.fetch(str(n), "(BODY.PEEK[] FLAGS RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], raw)
        # Items may come in any order: before or after the literal.
        self.assertIn(b"RFC822.SIZE %d" % len(raw), data[0][0] + data[1])
        typ, data = m.store(str(n), "+FLAGS", "(\\Flagged)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Flagged", data[0])
        # Vietnamese text, with and without diacritics.
        m._mode_utf8()  # imaplib: send the UTF-8 search string as is
        typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT", '"hành chính"')
        self.assertEqual(typ, "OK")
        self.assertTrue(data[0].split(), data)
        typ, data2 = m.uid("SEARCH", "SUBJECT", '"hanh chinh"')
        self.assertEqual(data2[0].split(), data[0].split())
        typ, _ = m.create('"L&AbA-u tr&Hu8-"')  # "Lưu trữ" in modified UTF-7
        self.assertEqual(typ, "OK")
        typ, _ = m._simple_command("MOVE", str(n), '"L&AbA-u tr&Hu8-"')
        self.assertEqual(typ, "OK")
        typ, data = m.status('"L&AbA-u tr&Hu8-"', "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        m.select('"L&AbA-u tr&Hu8-"')
        m.store("1", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        self.assertEqual(data[0], b"1")
        m.logout()

    def multiappend(self, m, literals):
        """Sends one APPEND with several messages (RFC 3502) as LITERAL+
        literals; returns the tagged reply line."""
        tag = m._new_tag()
        cmd = tag + b" APPEND Drafts"
        for flags, text in literals:
            cmd += b" (%s) {%d+}\r\n" % (flags, len(text)) + text
        m.send(cmd + b"\r\n")
        while True:
            line = m.readline()
            if line.startswith(tag + b" "):
                return line.rstrip(b"\r\n")

    def test_multiappend_appends_the_set_whole_or_not_at_all(self):
        m = self.login993(4)
        before = int(m.select("Drafts")[1][0])
        one = b"Subject: thu mot\r\n\r\nmot\r\n"
        two = b"Subject: thu hai\r\n\r\nhai\r\n"
        reply = self.multiappend(m, [(b"\\Seen", one), (b"\\Draft", two)])
        got = re.match(rb"^\S+ OK \[APPENDUID \d+ (\d+)[,:](\d+)\]", reply)
        self.assertIsNotNone(got, reply)
        first, second = int(got.group(1)), int(got.group(2))
        self.assertEqual(second, first + 1)
        m.noop()
        typ, data = m.uid("FETCH", "%d:%d" % (first, second), "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        text = b"".join(x[0] + x[1] if isinstance(x, tuple) else x for x in data)
        self.assertIn(b"thu mot", text)
        self.assertIn(b"thu hai", text)
        self.assertRegex(text, rb"UID %d FLAGS \(\\Seen[ )]" % first)
        self.assertRegex(text, rb"UID %d FLAGS \(\\Draft[ )]" % second)
        # A set with a bad member (an empty message) leaves nothing behind.
        reply = self.multiappend(m, [(b"", b"Subject: thu ba\r\n\r\nba\r\n"), (b"", b"")])
        self.assertRegex(reply, rb"^\S+ NO ")
        self.assertEqual(int(m.select("Drafts")[1][0]), before + 2)
        m.logout()

    def test_idle_sees_a_message_appended_by_another_session(self):
        addr = self.h.accounts[2]["address"]
        watcher = self.login993(2)
        watcher.select("INBOX")
        tag = watcher._new_tag()
        watcher.send(tag + b" IDLE\r\n")
        self.assertTrue(watcher.readline().startswith(b"+"))
        other = self.login993(2)
        start = time.monotonic()
        other.append("INBOX", None, None, message(addr, "Giấy mời", "Mời họp", "idle1"))
        watcher.sock.settimeout(10)
        line = watcher.readline()
        elapsed = time.monotonic() - start
        self.assertRegex(line, rb"^\* \d+ EXISTS")
        self.assertLess(elapsed, 5.0)
        watcher.send(b"DONE\r\n")
        # "* n RECENT" follows EXISTS (RFC 3501 §7.3.2), then the tagged OK.
        for _ in range(5):
            done = watcher.readline()
            if done.startswith(tag):
                break
        self.assertIn(b"OK", done)
        other.logout()
        watcher.logout()

    def test_idle_sees_mail_delivered_by_smtp(self):
        import smtplib
        addr = self.h.accounts[3]["address"]
        watcher = self.login993(3)
        watcher.select("INBOX")
        tag = watcher._new_tag()
        watcher.send(tag + b" IDLE\r\n")
        self.assertTrue(watcher.readline().startswith(b"+"))
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.sendmail("b@example.com", [addr], message(addr, "Qua SMTP", "Nội dung", "smtp1"))
        watcher.sock.settimeout(10)
        self.assertRegex(watcher.readline(), rb"^\* \d+ EXISTS")
        watcher.send(b"DONE\r\n")
        watcher.readline()
        watcher.logout()

    def test_curl_imaps(self):
        acct = self.h.accounts[0]
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", self.h.cafile,
                            "--user", "%s:%s" % (acct["address"], self.h.password),
                            "imaps://localhost:%d/" % self.h.port("imaps")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("INBOX", r.stdout)

    def test_mbsync_two_way_then_incremental(self):
        if not shutil.which("mbsync"):
            self.fail("mbsync (isync) is not installed")
        acct = self.h.accounts[4]
        m = self.login993(4)
        for folder in ("Du an", "Du an/2024"):
            m.create('"%s"' % folder)
        for i, box in enumerate(["INBOX", "INBOX", '"Du an"', '"Du an/2024"']):
            m.append(box, None, None, message(acct["address"], "Thư %d" % i, "Nội dung %d" % i, "mb%d" % i))
        d = tempfile.mkdtemp(prefix="homthu-mbsync-")
        maildir = os.path.join(d, "mail")
        os.makedirs(maildir)
        rc = os.path.join(d, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(f"""IMAPAccount a
Host localhost
Port {self.h.port("imaps")}
User {acct["address"]}
Pass {self.h.password}
SSLType IMAPS
CertificateFile {self.h.cafile}
AuthMechs LOGIN

IMAPStore remote
Account a

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

        def sync():
            r = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        def local_count(folder):
            return sum(len(os.listdir(os.path.join(maildir, folder, sub))) for sub in ("cur", "new"))

        def local_ids(folder):
            ids = []
            for sub in ("cur", "new"):
                for name in os.listdir(os.path.join(maildir, folder, sub)):
                    with open(os.path.join(maildir, folder, sub, name), "rb") as f:
                        ids += re.findall(rb"Message-ID: <([^>]+)>", f.read())
            return sorted(ids)

        def remote_ids(folder):
            typ, _ = m.select('"%s"' % folder)
            self.assertEqual(typ, "OK")
            typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            if data == [None]:
                return []
            return sorted(re.search(rb"<([^>]+)>", part[1]).group(1) for part in data if isinstance(part, tuple))

        def both_sides_equal():
            for folder in ("INBOX", "Du an", "Du an/2024"):
                local, remote = local_ids(folder), remote_ids(folder)
                self.assertEqual(local, remote, folder)
                self.assertEqual(len(set(local)), len(local), "duplicates in %s" % folder)
            return local_ids("INBOX")

        sync()
        self.assertEqual(local_count("INBOX"), 2)
        self.assertEqual(local_count("Du an"), 1)
        self.assertEqual(local_count("Du an/2024"), 1)
        both_sides_equal()
        # Changes on both sides: a new local message, a new remote one, a
        # flag set locally, a message expunged on the server.
        newdir = os.path.join(maildir, "INBOX", "new")
        with open(os.path.join(newdir, "1700000000.local1.host"), "wb") as f:
            f.write(message(acct["address"], "Từ máy", "Soạn ở máy", "local1"))
        m.append("INBOX", None, None, message(acct["address"], "Từ máy chủ", "Mới", "remote1"))
        for sub in ("new", "cur"):
            folder = os.path.join(maildir, "Du an", sub)
            for name in os.listdir(folder):
                base = name.split(":2,")[0]
                os.rename(os.path.join(folder, name), os.path.join(maildir, "Du an", "cur", base + ":2,FS"))
        m.select('"Du an/2024"')
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.expunge()
        sync()
        sync()  # a second run must change nothing
        self.assertEqual(local_count("INBOX"), 4)
        self.assertEqual(local_count("Du an/2024"), 0)
        inbox = both_sides_equal()
        self.assertEqual(sorted(inbox), sorted([b"mb0@example.com", b"mb1@example.com",
                                                b"local1@example.com", b"remote1@example.com"]))
        m.select('"Du an"')
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])
        self.assertIn(b"\\Flagged", data[0])
        m.select("INBOX")
        typ, data = m.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 4)
        m.logout()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
