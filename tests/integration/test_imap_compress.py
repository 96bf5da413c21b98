"""COMPRESS=DEFLATE (RFC 4978) against the real daemon, with zlib on the
client side: advertised only after login, a compressed session works both
ways, data pipelined after COMPRESS is refused (RELIABILITY.md S4), and
compressed input is bounded after inflation: the line limit (I7) and the
inflate ratio."""

import os
import random
import string
import time
import unittest
import zlib

from harness import Homthu
from test_imap_sessions import RawImap, message


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


class Compress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=2, config_extra="[imap]\nmax_inflate_ratio = 100\n")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def open(self, i=0):
        c = RawImap(self.h)
        self.addCleanup(c.close)
        return c

    def start_compress(self, c):
        c.login(self.h.accounts[0]["address"], self.h.password)
        status, _ = c.cmd("COMPRESS DEFLATE")
        self.assertTrue(status.startswith("OK"), status)
        self.assertEqual(c.buf, b"")
        c.inflate = zlib.decompressobj(-15)
        c.deflate = zlib.compressobj(9, zlib.DEFLATED, -15)

    def test_advertised_after_login_only(self):
        c = self.open()
        self.assertNotIn(b"COMPRESS=DEFLATE", c.greeting)
        lines = c.ok("CAPABILITY")
        self.assertNotIn(b"COMPRESS=DEFLATE", b"".join(lines))
        c.login(self.h.accounts[0]["address"], self.h.password)
        lines = c.ok("CAPABILITY")
        self.assertIn(b"COMPRESS=DEFLATE", b"".join(lines))

    def test_compressed_session_append_fetch_logout(self):
        c = self.open()
        self.start_compress(c)
        data = message(1) + ("Dòng văn bản %d\r\n" % 7).encode() * 2000
        t = c.tag()
        c.send(("%s APPEND INBOX {%d}\r\n" % (t, len(data))).encode())
        self.assertTrue(c.line().startswith(b"+"))
        c.send(data + b"\r\n")
        status, _ = c.wait(t)
        self.assertTrue(status.startswith("OK"), status)
        lines = c.ok("SELECT INBOX")
        n = int([ln for ln in lines if ln.endswith(b" EXISTS")][0].split()[1])
        lines = c.ok("FETCH %d (BODY.PEEK[])" % n)
        body = lines[0].split(b"\r\n", 1)[1][: len(data)]
        self.assertEqual(body, data)
        status, _ = c.cmd("COMPRESS DEFLATE")
        self.assertIn("COMPRESSIONACTIVE", status)
        status, lines = c.cmd("LOGOUT")
        self.assertTrue(status.startswith("OK"), status)
        self.assertTrue(lines[0].startswith(b"* BYE"))

    def test_data_pipelined_after_compress_is_refused(self):
        c = self.open()
        c.login(self.h.accounts[0]["address"], self.h.password)
        pipelined = zlib.compressobj(9, zlib.DEFLATED, -15)
        injected = pipelined.compress(b"x DELETE INBOX/Inject\r\n") + pipelined.flush(zlib.Z_SYNC_FLUSH)
        c.sock.sendall(b"a COMPRESS DEFLATE\r\n" + injected)
        status, _ = c.wait("a")
        self.assertTrue(status.startswith("BAD"), status)
        # Still uncompressed and alive; the pipelined bytes never ran.
        status, _ = c.cmd("NOOP")
        self.assertTrue(status.startswith("OK"), status)

    def test_line_limit_applies_after_inflation(self):
        c = self.open()
        self.start_compress(c)
        rnd = random.Random(4)
        # Little-compressible: ~1 MB of random letters in one line.
        junk = "".join(rnd.choice(string.ascii_letters) for _ in range(1 << 20))
        c.send(("a NOOP " + junk + "\r\n").encode())
        status, lines = c.cmd("NOOP")
        self.assertTrue(status.startswith("OK"), status)
        self.assertIn(b"* BAD Command line too long", lines)

    def test_inflate_bomb_ends_the_connection_with_bounded_memory(self):
        c = self.open()
        self.start_compress(c)
        pid = self.h.proc.pid
        before = rss_kib(pid)
        zeros = b"A" * (1 << 20)
        sent = 0
        closed = False
        c.sock.settimeout(20)
        # Up to 1 GiB inflated; the server gives up long before.
        for _ in range(1024):
            chunk = c.deflate.compress(zeros) + c.deflate.flush(zlib.Z_SYNC_FLUSH)
            try:
                c.sock.sendall(chunk)
            except OSError:
                closed = True
                break
            sent += len(chunk)
        lines = []
        try:
            for _ in range(10):
                lines.append(c.line())
        except (ConnectionError, OSError):
            closed = True
        self.assertTrue(closed or any(ln.startswith(b"* BYE [LIMIT]") for ln in lines), lines)
        self.assertLess(rss_kib(pid) - before, 64 * 1024)
        # The server still serves others.
        other = self.open()
        other.login(self.h.accounts[1]["address"], self.h.password)
        status, _ = other.cmd("NOOP")
        self.assertTrue(status.startswith("OK"))


if __name__ == "__main__":
    unittest.main()
