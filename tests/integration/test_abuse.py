"""Hostile input over the network (RELIABILITY.md rows that reach a socket).

Each vector is a row of a table below with the answer we expect. After every
row the server must still serve a normal client (the row's check is followed
by a NOOP/EHLO on a fresh connection). Vectors that need a whole exchange
(STARTTLS injection, floods, brute force, admin input) have their own
function, still listed in a table with the expected answer.
"""

import base64
import http.client
import imaplib
import json
import re
import smtplib
import socket
import ssl
import time
import unittest
import uuid

from harness import Homthu

PER_IP_CAP = 10

# --- SMTP: one session each, port 25, no AUTH ----------------------------------
# (id, commands sent after EHLO, each a bytes line without CRLF, expected
#  reply to the last one as (code, enhanced-code regex)).
SMTP_ROWS = [
    ("S10 command of 600 B", [b"NOOP " + b"x" * 600], (500, r"5\.5\.\d")),
    ("S10 command of 1 MiB", [b"NOOP " + b"x" * (1 << 20)], (500, r"5\.5\.\d")),
    ("S10 local part of 65", [b"MAIL FROM:<" + b"a" * 65 + b"@example.org>"], (501, r"5\.1\.7")),
    ("S10 domain of 256", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<a@" + b"d" * 252 + b".vn>"], (501, r"5\.1\.3")),
    ("S10 path of 311", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<" + b"a" * 64 + b"@" + (b"d" * 60 + b".") * 4 + b"vn>"],
     (501, r"5\.1\.3")),
    ("S12 SIZE of 30 digits", [b"MAIL FROM:<a@example.org> SIZE=" + b"9" * 30], (5, r"5\.\d\.\d")),
    ("S12 repeated parameter", [b"MAIL FROM:<a@example.org> BODY=8BITMIME BODY=7BIT"], (555, r"5\.5\.4")),
    ("S12 AUTH= xtext decoding to CRLF", [b"MAIL FROM:<a@example.org> AUTH=x+0D+0AX-Injected:+20y"], (501, r"5\.5\.\d")),
    ("S12 unknown BODY=", [b"MAIL FROM:<a@example.org> BODY=9BIT"], (501, r"5\.5\.\d")),
    ("S13 shell in MAIL FROM", [b"MAIL FROM:<;sleep 5;>"], (501, r"5\.1\.7")),
    # "`" is atext (RFC 5322 §3.2.3): a valid address, stored as data, never run.
    ("S13 backticks", [b"MAIL FROM:<`id`@example.org>"], (250, r"2\.1\.0")),
    ("S13 $()", [b"MAIL FROM:<$(id)@example.org>"], (501, r"5\.1\.7")),
    ("S17 invalid UTF-8 sender", [b"MAIL FROM:<\xff\xfe@example.org>"], (501, r"5\.\d\.\d")),
    ("S17 truncated UTF-8 with SMTPUTF8", [b"MAIL FROM:<a@example.org> SMTPUTF8", b"RCPT TO:<\xe1\xba@thainguyen.gov.vn>"],
     (501, r"5\.1\.3")),
    ("S6 relay <u%d@[ip]>", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<u%example.org@[127.0.0.1]>"], (5, r"5\.\d\.\d")),
    ("S6 relay d!u", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<example.org!u>"], (5, r"5\.\d\.\d")),
    ("S6 relay source route", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<@thainguyen.gov.vn:u@example.org>"],
     (554, r"5\.7\.1")),
    ("S6 relay quoted", [b"MAIL FROM:<a@example.org>", b'RCPT TO:<"u@example.org"@[127.0.0.1]>'], (5, r"5\.\d\.\d")),
    ("S6 relay plain remote", [b"MAIL FROM:<a@example.org>", b"RCPT TO:<u@example.org>"], (554, r"5\.7\.1")),
    ("S7 AUTH on port 25", [b"AUTH PLAIN AGFuAHNlY3JldA=="], (503, r"5\.\d\.\d")),
    ("S14 BDAT over SIZE", [b"MAIL FROM:<a@example.org> SIZE=999999999999"], (552, r"5\.3\.4")),
]

# The ten smtpsmug endings (S1): text between "first" and the smuggled MAIL.
SMUGGLE_ENDINGS = [
    ("\\n.\\n", b"\n.\n"), ("\\n.\\r\\n", b"\n.\r\n"), ("\\r\\n.\\n", b"\r\n.\n"), ("\\r.\\r\\n", b"\r.\r\n"),
    ("\\r\\n.\\r", b"\r\n.\r"), ("\\r.\\r", b"\r.\r"), ("\\r.\\n", b"\r.\n"), ("\\n.\\r", b"\n.\r"),
    ("NUL before dot", b"\r\n\0.\r\n"), ("NUL after dot", b"\r\n.\0\r\n"),
]
# Expected for every ending: one reply to the real end of data, 550 5.6.0
# (bare CR/LF or NUL refused), and nothing stored: neither message.
SMUGGLE_EXPECT = (550, r"5\.6\.0", 0)

# --- IMAP: after LOGIN over imaps -------------------------------------------------
# (id, raw bytes to send, expected tagged status of tag "z" and a regex the
#  response must match; "BYE" means the server ends the connection).
IMAP_ROWS = [
    ("I2 APPEND of 99999999999", b"z APPEND INBOX {99999999999}\r\n", "NO", r"\[(TOOBIG|LIMIT)\]"),
    ("I3 non-sync literal over the limit", b"z APPEND INBOX {99999999999+}\r\nabc\r\n", "BAD|BYE", r""),
    ("I1 line of 64 KiB + 1", b"z SEARCH SUBJECT " + b"x" * 65536 + b"\r\n", "BAD|BYE", r""),
    ("I1 line of 8 KiB accepted", b"z SEARCH SUBJECT " + b"x" * 8192 + b"\r\n", "OK", r""),
    ("I1 parentheses 100000 deep", b"z SEARCH " + b"(" * 30000 + b"ALL" + b")" * 30000 + b"\r\n", "BAD", r""),
    ("I1 NOT 10000 deep", b"z SEARCH " + b"NOT " * 10000 + b"ALL\r\n", "OK|BAD", r""),
    ("I6 NUL in a quoted string", b'z SEARCH SUBJECT "a\0b"\r\n', "BAD", r""),
    ("I5 mailbox ../x", b'z CREATE "../x"\r\n', "NO|BAD", r""),
    ("I5 mailbox a//b", b'z CREATE "a//b"\r\n', "NO|BAD", r""),
    ("I5 mailbox with NUL", b"z CREATE {3+}\r\na\0b\r\n", "NO|BAD", r""),
    ("I5 bad modified UTF-7", b"z CREATE &Jjo!\r\n", "NO|BAD", r""),
    ("I8 FETCH 1:4294967295", b"z FETCH 1:4294967295 (FLAGS)\r\n", "OK|NO", r""),
    ("I8 SEARCH with 9000 nested ORs", b"z SEARCH " + b"OR ALL " * 9000 + b"ALL\r\n", "OK|BAD|NO", r""),
    # Found by fuzz_imap_reader: an inline literal whose last byte is CR,
    # followed by LF, made the reader drop that CR from the literal and read
    # before its line start; "{9}" inside the literal was then taken for a
    # new announcement and the server asked for 9 more bytes.
    ("regression: inline literal ending in CR", b"z SEARCH SUBJECT {4+}\r\n{9}\r\n", "OK|NO|BAD", r""),
    ("S17 invalid UTF-8 search", b"z SEARCH CHARSET UTF-8 SUBJECT {3+}\r\n\xff\xfe\xfd\r\n", "OK|NO|BAD", r""),
]


class RawSmtp:
    def __init__(self, host, port, source=None, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def reply(self):
        lines = [self.line()]
        while lines[-1][3:4] == b"-":
            lines.append(self.line())
        return int(lines[-1][:3]), b"".join(lines)

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


class AbuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=6, config_extra="[limits]\nmax_connections_per_ip = %d\n" % PER_IP_CAP)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    # --- helpers --------------------------------------------------------------

    def assert_smtp_alive(self, source=None):
        s = RawSmtp(self.h.host, self.h.port("smtp"), source=source)
        try:
            self.assertEqual(s.reply()[0], 220)
            self.assertEqual(s.cmd(b"EHLO alive.example")[0], 250)
            self.assertEqual(s.cmd(b"NOOP")[0], 250)
        finally:
            s.close()

    def imap_login(self, i=0):
        m = imaplib.IMAP4_SSL(self.h.host, self.h.port("imaps"), ssl_context=self.h.ssl_context(), timeout=30)
        m.login(self.h.accounts[i]["address"], self.h.password)
        return m

    def assert_imap_alive(self):
        m = self.imap_login(5)
        self.assertEqual(m.select("INBOX")[0], "OK")
        m.logout()

    def subjects(self, i, token):
        m = self.imap_login(i)
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "SUBJECT", token)
        m.logout()
        return data[0].split()

    # --- SMTP table -----------------------------------------------------------------

    def test_smtp_rows(self):
        for name, lines, (code, enhanced) in SMTP_ROWS:
            with self.subTest(name):
                s = RawSmtp(self.h.host, self.h.port("smtp"))
                try:
                    self.assertEqual(s.reply()[0], 220)
                    self.assertEqual(s.cmd(b"EHLO abuse.example")[0], 250)
                    for line in lines:
                        got, text = s.cmd(line)
                    if code < 10:
                        self.assertEqual(got // 100, code, text)
                    else:
                        self.assertEqual(got, code, text)
                    self.assertRegex(text.decode("latin-1"), r"^\d{3}[ -]" + enhanced)
                    # The session stays in step: the next command gets its own reply.
                    self.assertEqual(s.cmd(b"RSET")[0], 250)
                finally:
                    s.close()
                self.assert_smtp_alive()

    def test_smtp_smuggling(self):
        rcpt = self.h.accounts[1]["address"].encode()
        code, enhanced, stored = SMUGGLE_EXPECT
        for name, ending in SMUGGLE_ENDINGS:
            with self.subTest(name):
                token = uuid.uuid4().hex[:10]
                s = RawSmtp(self.h.host, self.h.port("smtp"))
                try:
                    greeting = s.reply()
                    self.assertEqual(greeting[0], 220, greeting)
                    ehlo = s.cmd(b"EHLO smuggler.example")
                    self.assertEqual(ehlo[0], 250, (greeting, ehlo))
                    self.assertEqual(s.cmd(b"MAIL FROM:<a@example.org>")[0], 250)
                    self.assertEqual(s.cmd(b"RCPT TO:<" + rcpt + b">")[0], 250)
                    self.assertEqual(s.cmd(b"DATA")[0], 354)
                    s.send(b"Subject: first-" + token.encode() + b"\r\n\r\nfirst" + ending +
                           b"MAIL FROM:<x@example.org>\r\nRCPT TO:<" + rcpt + b">\r\nDATA\r\n"
                           b"Subject: smuggled-" + token.encode() + b"\r\n\r\nsecond\r\n.\r\n")
                    got, text = s.reply()
                    self.assertEqual(got, code, text)
                    self.assertRegex(text.decode("latin-1"), enhanced)
                    # Exactly one reply: the next command is answered on its own.
                    self.assertEqual(s.cmd(b"NOOP")[0], 250)
                finally:
                    s.close()
                self.assertEqual(len(self.subjects(1, "smuggled-" + token)), 0, "a second message was split off")
                self.assertEqual(len(self.subjects(1, "first-" + token)), stored)
        # A normal message still goes through.
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as c:
            c.sendmail("a@example.org", [rcpt.decode()], b"Subject: clean after smuggling\r\n\r\nok\r\n")

    # --- STARTTLS injection (S3) -------------------------------------------------------

    def test_starttls_injection_smtp(self):
        s = RawSmtp(self.h.host, self.h.port("submission"))
        s.reply()
        s.cmd(b"EHLO inject.example")
        s.send(b"STARTTLS\r\nRSET\r\n")
        code, _ = s.reply()
        self.assertEqual(code, 220)
        ctx = self.h.ssl_context()
        tls = ctx.wrap_socket(s.sock, server_hostname="localhost")
        tls.settimeout(10)
        tls.sendall(b"EHLO after.example\r\n")
        data = b""
        while not re.search(rb"(^|\n)\d{3} [^\r\n]*\r\n", data):
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        # The first reply over TLS is the EHLO's; the injected RSET never ran.
        self.assertTrue(data.startswith(b"250-") or data.startswith(b"250 "), data)
        self.assertNotIn(b"2.0.0", data.split(b"\r\n")[0])
        tls.close()
        self.assert_smtp_alive()

    def test_starttls_injection_imap(self):
        sock = socket.create_connection((self.h.host, self.h.port("imap")), timeout=30)
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        line = f.readline()
        self.assertTrue(line.startswith(b"a OK"), line)
        tls = self.h.ssl_context().wrap_socket(sock, server_hostname="localhost")
        tls.settimeout(10)
        tls.sendall(b"c NOOP\r\n")
        data = b""
        while b"c OK" not in data and b"c BAD" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertIn(b"c OK", data)
        self.assertNotIn(b"b OK", data, "the command injected before TLS was executed")
        tls.close()

    # --- IMAP table -------------------------------------------------------------------

    def test_imap_rows(self):
        for name, raw, status, pattern in IMAP_ROWS:
            with self.subTest(name):
                m = self.imap_login(2)
                m.select("INBOX")
                sock = m.socket()
                sock.settimeout(60)
                sock.sendall(raw)
                data = b""
                closed = False
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if re.search(rb"(^|\n)((z|\*) (OK|NO|BAD|BYE)|\+)[^\n]*\n", data):
                        break
                    try:
                        chunk = sock.recv(65536)
                    except (ssl.SSLError, OSError):
                        closed = True
                        break
                    if not chunk:
                        closed = True
                        break
                    data += chunk
                self.assertNotIn(b"\n+ ", b"\n" + data, "a continuation was offered")
                # A line too long to read its tag gets an untagged BAD (RFC 9051 §7.1.3).
                tagged = re.search(rb"(^|\n)(z|\*) (OK|NO|BAD)([^\n]*)", data)
                got = tagged.group(3).decode() if tagged else ("BYE" if closed or b"* BYE" in data else "none")
                self.assertRegex(got, "^(%s)$" % status, data[-500:])
                if pattern:
                    self.assertRegex(data.decode("latin-1"), pattern)
                try:
                    m.shutdown()
                except Exception:
                    pass
                self.assert_imap_alive()

    def test_nested_mime_then_bodystructure(self):
        token = uuid.uuid4().hex[:10]
        depth = 150
        parts = ["Subject: nested-%s\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" % token]
        for i in range(1, depth):
            parts.append("--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i))
        parts.append("--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n" % (depth - 1))
        for i in reversed(range(depth)):
            parts.append("--b%d--\r\n" % i)
        rcpt = self.h.accounts[3]["address"]
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as c:
            c.sendmail("a@example.org", [rcpt], "".join(parts).encode())
        m = self.imap_login(3)
        m.select("INBOX")
        typ, ids = m.search(None, "SUBJECT", "nested-" + token)
        self.assertEqual(len(ids[0].split()), 1)
        t0 = time.monotonic()
        typ, data = m.fetch(ids[0].split()[0], "(BODYSTRUCTURE)")
        self.assertEqual(typ, "OK")
        self.assertLess(time.monotonic() - t0, 5)
        text = b"".join(p if isinstance(p, bytes) else p[0] + p[1] for p in data)
        self.assertEqual(text.count(b"("), text.count(b")"), "unbalanced BODYSTRUCTURE")
        self.assertLessEqual(text.count(b'"mixed"'), 101, "nesting not capped at 100")
        m.logout()

    def test_oversized_header(self):
        token = uuid.uuid4().hex[:10]
        rcpt = self.h.accounts[3]["address"]
        msg = ("Subject: big-%s\r\nX-Big: %s\r\n\r\nbody\r\n" % (token, "a" * (2 << 20))).encode()
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=60) as c:
            try:
                c.sendmail("a@example.org", [rcpt], msg)
                accepted = True
            except smtplib.SMTPDataError as e:
                self.assertIn(e.smtp_code, (552, 554), e)
                accepted = False
        m = self.imap_login(3)
        m.select("INBOX")
        typ, ids = m.search(None, "SUBJECT", "big-" + token)
        self.assertEqual(len(ids[0].split()), 1 if accepted else 0)
        if accepted:
            typ, data = m.fetch(ids[0].split()[0], "(ENVELOPE RFC822.SIZE)")
            self.assertEqual(typ, "OK")
        m.logout()

    # --- connection flood (A1) ------------------------------------------------------------

    def test_connection_flood_from_one_ip(self):
        held = []
        refused = 0
        try:
            for _ in range(PER_IP_CAP + 5):
                s = RawSmtp(self.h.host, self.h.port("smtp"))
                code, text = s.reply()
                if code == 421:
                    self.assertIn(b"4.7.0", text)
                    refused += 1
                    s.close()
                else:
                    self.assertEqual(code, 220)
                    held.append(s)
            self.assertEqual(len(held), PER_IP_CAP)
            self.assertEqual(refused, 5)
            # Another address is still served while this one is at its cap.
            self.assert_smtp_alive(source="127.0.0.2")
        finally:
            for s in held:
                s.close()
        time.sleep(0.5)
        self.assert_smtp_alive()

    # --- AUTH brute force (A3, S8) ------------------------------------------------------------

    def test_auth_brute_force(self):
        ctx = self.h.ssl_context()
        user = self.h.accounts[4]["address"]
        import base64
        bad = base64.b64encode(b"\0" + user.encode() + b"\0wrong-password").decode()
        sock = ctx.wrap_socket(socket.create_connection((self.h.host, self.h.port("smtps")), timeout=60),
                               server_hostname="localhost")
        s = RawSmtp.__new__(RawSmtp)
        s.sock, s.buf = sock, b""
        s.reply()
        s.cmd(b"EHLO brute.example")
        times, codes = [], []
        closed = False
        for _ in range(6):
            t0 = time.monotonic()
            try:
                code, text = s.cmd(b"AUTH PLAIN " + bad.encode())
            except (ConnectionError, OSError):
                closed = True
                break
            times.append(time.monotonic() - t0)
            codes.append(code)
            if code == 421:
                closed = True
                break
        sock.close()
        self.assertTrue(all(c in (535, 421) for c in codes), codes)
        self.assertGreaterEqual(codes.count(535), 1)
        self.assertTrue(closed, "no disconnect after repeated failures: %s" % codes)
        self.assertGreater(max(times), 1.0, "failures are answered without delay: %s" % times)
        # Malformed AUTH PLAIN (S8) gets 501/535, never a crash.
        for payload in [b"!!!", b"AA==", base64.b64encode(b"a\0b\0c\0d"), base64.b64encode(b"\0\0pw"),
                        base64.b64encode(b"\0" + b"u" * 300 + b"\0pw"), b"*", b"="]:
            with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=ctx, timeout=60, source_address=("127.0.0.3", 0)) as c:
                c.ehlo("s8.example")
                code, text = c.docmd("AUTH", "PLAIN " + payload.decode())
                self.assertIn(code, (501, 535, 421), (payload, text))
        # The account itself is not locked out for its owner on another address.
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=ctx, timeout=60,
                              source_address=("127.0.0.2", 0)) as c:
            t0 = time.monotonic()
            c.login(user, self.h.password)
            self.assertLess(time.monotonic() - t0, 5)

    # --- admin console (W1, W6, hostile input) --------------------------------------------------

    ADMIN_ROWS = [
        # (id, method, path, headers, body, expected statuses)
        ("W6 header of 20 KiB", "GET", "/healthz", {"X-Big": "a" * 20000}, None, (431,)),
        ("W6 body over max_body", "POST", "/api/v1/session", {"Content-Type": "application/json",
                                                               "Content-Length": str(1 << 30)}, b"", (413,)),
        ("path traversal", "GET", "/../../../../etc/passwd", {}, None, (400, 404)),
        ("encoded traversal", "GET", "/static/%2e%2e/%2e%2e/etc/passwd", {}, None, (400, 404)),
        ("W1 state change via GET", "GET", "/api/v1/accounts/x/disable", {}, None, (401, 403, 404, 405)),
        ("W1 POST without session", "POST", "/api/v1/accounts", {"Content-Type": "application/json"}, b"{}", (401, 403)),
        ("W1 cross-origin sign-in", "POST", "/api/v1/session",
         {"Content-Type": "application/json", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
         b'{"login":"a","password":"b"}', (403,)),
        ("sign-in as a form", "POST", "/api/v1/session", {"Content-Type": "application/x-www-form-urlencoded"},
         b"login=a&password=b", (400, 415)),
        ("sign-in with broken JSON", "POST", "/api/v1/session", {"Content-Type": "application/json"},
         b'{"login": "a", "password": ', (400,)),
        ("sign-in JSON 10000 deep", "POST", "/api/v1/session", {"Content-Type": "application/json"},
         b"[" * 10000 + b"]" * 10000, (400,)),
        ("LDAP filter in login (L1)", "POST", "/api/v1/session", {"Content-Type": "application/json"},
         json.dumps({"login": "*)(uid=*", "password": "x"}).encode(), (401, 429)),
        ("W5 password of 100000", "POST", "/api/v1/session", {"Content-Type": "application/json"},
         json.dumps({"login": "a@thainguyen.gov.vn", "password": "p" * 100000}).encode(), (400, 401, 429)),
    ]

    def admin(self, method, path, headers=None, body=None):
        ctx = self.h.ssl_context()
        c = http.client.HTTPSConnection(self.h.host, self.h.port("admin"), context=ctx, timeout=30)
        try:
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            if body is not None and "Content-Length" not in (headers or {}):
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body if body else None)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def test_admin_hostile_input(self):
        for name, method, path, headers, body, expected in self.ADMIN_ROWS:
            with self.subTest(name):
                status, hdrs, content = self.admin(method, path, headers, body)
                self.assertIn(status, expected, content[:300])
                self.assertNotIn(b"root:", content)
                self.assertEqual(self.admin("GET", "/healthz")[0], 200)
        # Header splitting through the plain-HTTP redirect.
        c = http.client.HTTPConnection(self.h.host, self.h.port("admin_http"), timeout=30)
        c.putrequest("GET", "/x%0d%0aSet-Cookie:%20a=b", skip_host=True)
        c.putheader("Host", "evil.example\r\n X-Injected: 1".replace("\r\n", ""))
        c.endheaders()
        r = c.getresponse()
        r.read()
        self.assertNotIn("Set-Cookie", dict(r.getheaders()))
        self.assertNotIn("X-Injected", dict(r.getheaders()))
        c.close()


class ConfiguredSmtpRatesTest(unittest.TestCase):
    """The [smtp] rate keys reach the server: per-IP connection rate,
    per-IP message rate for unauthenticated clients, AUTH failure delay."""

    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=3, config_extra="[smtp]\nconnections_per_ip_per_minute = 4\n"
                                              "messages_per_ip_per_hour = 2\nauth_failure_delay = 0\n")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def test_connection_rate_per_ip(self):
        codes = []
        for _ in range(6):
            s = RawSmtp(self.h.host, self.h.port("smtp"), source="127.0.0.3")
            code, text = s.reply()
            codes.append(code)
            if code == 421:
                self.assertIn(b"4.7.0", text)
            s.close()
        self.assertEqual(codes, [220] * 4 + [421] * 2)
        # Another address is not affected.
        s = RawSmtp(self.h.host, self.h.port("smtp"), source="127.0.0.4")
        self.assertEqual(s.reply()[0], 220)
        s.close()

    def test_message_rate_per_ip_for_unauthenticated_clients(self):
        to = self.h.account(0)["address"]
        s = RawSmtp(self.h.host, self.h.port("smtp"), source="127.0.0.5")
        self.assertEqual(s.reply()[0], 220)
        self.assertEqual(s.cmd(b"EHLO client.example.org")[0], 250)
        outcomes = []
        for i in range(3):
            code, text = s.cmd(b"MAIL FROM:<sender@example.org>")
            outcomes.append(code)
            if code != 250:
                self.assertEqual(code, 450)
                self.assertIn(b"4.7.1", text)
                break
            self.assertEqual(s.cmd(b"RCPT TO:<" + to.encode() + b">")[0], 250)
            self.assertEqual(s.cmd(b"DATA")[0], 354)
            s.send(b"Subject: rate %d\r\n\r\nbody\r\n.\r\n" % i)
            self.assertEqual(s.reply()[0], 250)
        s.close()
        self.assertEqual(outcomes, [250, 250, 450])

    def test_auth_failure_delay_zero_answers_at_once(self):
        ctx = self.h.ssl_context()
        # One AUTH PLAIN per attempt (smtplib's login() would try PLAIN and
        # then LOGIN); the session ends after its third failure, whose reply
        # is timed.
        token = base64.b64encode(b"\0" + self.h.account(1)["address"].encode() + b"\0wrong-password").decode()
        c = smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=ctx, timeout=30)
        try:
            c.ehlo()
            for _ in range(2):
                self.assertEqual(c.docmd("AUTH", "PLAIN " + token)[0], 535)
            start = time.monotonic()
            self.assertEqual(c.docmd("AUTH", "PLAIN " + token)[0], 535)
            # With the default 2 s per recent failure this would take >= 4 s.
            self.assertLess(time.monotonic() - start, 3.0)
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
