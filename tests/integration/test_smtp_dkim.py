"""DKIM signing end to end: `homthuctl dkim generate` makes an RSA-2048 and
an Ed25519 key and prints the TXT record; homthud signs mail relayed to a
loopback aiosmtpd server with it; python3-dkim (an independent verifier)
accepts the signature with that record as its only DNS answer, and rejects
the message once its body is changed."""

import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import BIN, Homthu
from test_smtp import NO_DNS, Controller, Sink, message, wait_until

import dkim  # Debian's python3-dkim, installed by packaging/install-deps.sh


def generate(domain, selector, key_type, out):
    r = subprocess.run([os.path.join(BIN, "homthuctl"), "dkim", "generate", domain, "--selector", selector,
                        "--type", key_type, "--out", out], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return r.stdout


class DkimSigningTest(unittest.TestCase):
    def check_type(self, key_type):
        tmp = tempfile.mkdtemp(prefix="homthu-dkim-")
        try:
            key = os.path.join(tmp, "dkim.pem")
            out = generate("thainguyen.gov.vn", "s2026", key_type, key)
            # "s2026._domainkey.thainguyen.gov.vn. IN TXT ( "…" "…" )"
            self.assertTrue(out.startswith("s2026._domainkey.thainguyen.gov.vn. IN TXT ("), out)
            record = "".join(re.findall(r'"([^"]*)"', out)).encode()
            self.assertIn(b"k=%s;" % key_type.encode(), record)
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            # Never overwrites an existing key.
            r = subprocess.run([os.path.join(BIN, "homthuctl"), "dkim", "generate", "thainguyen.gov.vn",
                                "--out", key], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)

            with Sink() as sink:
                extra = ('[smtp]\nrelayhost = "127.0.0.1:%d"\ndkim_selector = "s2026"\ndkim_key_file = "%s"\n%s'
                         % (sink.port, key, NO_DNS))
                with Homthu(users=5, config_extra=extra) as h:
                    a = h.account(0)
                    subject = "Ky DKIM %s %s" % (key_type, uuid.uuid4().hex[:8])
                    with smtplib.SMTP_SSL(h.host, h.port("smtps"), context=h.ssl_context(), timeout=30) as s:
                        s.login(a["address"], h.password)
                        s.sendmail(a["address"], ["partner@example.org"],
                                   message(a["address"], "partner@example.org", subject,
                                           body="Kinh gui.\r\n.dong bat dau bang dau cham\r\n"))
                    found = lambda: any(subject.encode() in m[2] for m in sink.messages)
                    self.assertTrue(wait_until(found, 30), h.log_text()[-3000:])
                    content = next(m[2] for m in sink.messages if subject.encode() in m[2])

            self.assertTrue(content.startswith(b"DKIM-Signature: v=1; a=%s-sha256;"
                                               % (b"ed25519" if key_type == "ed25519" else b"rsa")), content[:200])
            self.assertIn(b"d=thainguyen.gov.vn", content[:600])
            asked = []

            def dnsfunc(name, timeout=5):
                asked.append(name)
                return record if name in (b"s2026._domainkey.thainguyen.gov.vn.", "s2026._domainkey.thainguyen.gov.vn.") else None

            self.assertTrue(dkim.verify(content, dnsfunc=dnsfunc), content[:800])
            self.assertTrue(asked)
            tampered = content.replace(b"Kinh gui.", b"Kinh gui!")
            self.assertFalse(dkim.verify(tampered, dnsfunc=dnsfunc))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_rsa_signature_verifies(self):
        self.check_type("rsa")

    def test_ed25519_signature_verifies(self):
        self.check_type("ed25519")

    def test_rsa_and_ed25519_together(self):
        # RFC 8463 §4: sign with both, so verifiers without Ed25519 still pass.
        tmp = tempfile.mkdtemp(prefix="homthu-dkim-")
        try:
            rsa_key, ed_key = os.path.join(tmp, "rsa.pem"), os.path.join(tmp, "ed.pem")
            records = {}
            for selector, key_type, key in (("r2026", "rsa", rsa_key), ("e2026", "ed25519", ed_key)):
                out = generate("thainguyen.gov.vn", selector, key_type, key)
                records[("%s._domainkey.thainguyen.gov.vn." % selector).encode()] = \
                    "".join(re.findall(r'"([^"]*)"', out)).encode()
            with Sink() as sink:
                extra = ('[smtp]\nrelayhost = "127.0.0.1:%d"\ndkim_selector = "r2026"\ndkim_key_file = "%s"\n'
                         'dkim_ed25519_selector = "e2026"\ndkim_ed25519_key_file = "%s"\n%s'
                         % (sink.port, rsa_key, ed_key, NO_DNS))
                with Homthu(users=5, config_extra=extra) as h:
                    a = h.account(0)
                    subject = "Ky hai khoa %s" % uuid.uuid4().hex[:8]
                    with smtplib.SMTP_SSL(h.host, h.port("smtps"), context=h.ssl_context(), timeout=30) as s:
                        s.login(a["address"], h.password)
                        s.sendmail(a["address"], ["partner@example.org"],
                                   message(a["address"], "partner@example.org", subject))
                    found = lambda: any(subject.encode() in m[2] for m in sink.messages)
                    self.assertTrue(wait_until(found, 30), h.log_text()[-3000:])
                    content = next(m[2] for m in sink.messages if subject.encode() in m[2])

            def dnsfunc(name, timeout=5):
                return records.get(name if isinstance(name, bytes) else name.encode())

            self.assertEqual(content.count(b"DKIM-Signature:"), 2, content[:1500])
            self.assertIn(b"a=rsa-sha256", content[:1500])
            self.assertIn(b"a=ed25519-sha256", content[:1500])
            d = dkim.DKIM(content)
            self.assertTrue(d.verify(idx=0, dnsfunc=dnsfunc))
            self.assertTrue(d.verify(idx=1, dnsfunc=dnsfunc))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_ed25519_selector_needs_an_ed25519_key(self):
        # homthud --check loads the keys as start-up would.
        tmp = tempfile.mkdtemp(prefix="homthu-dkim-")
        try:
            rsa_key = os.path.join(tmp, "rsa.pem")
            generate("thainguyen.gov.vn", "r2026", "rsa", rsa_key)
            config = os.path.join(tmp, "homthu.toml")
            with open(config, "w", encoding="utf-8") as f:
                f.write('[server]\nhostname = "localhost"\ndomains = ["thainguyen.gov.vn"]\n'
                        'data_dir = "%s"\n[smtp]\ndkim_selector = "r2026"\ndkim_key_file = "%s"\n'
                        % (tmp, rsa_key))
            ok = subprocess.run([os.path.join(BIN, "homthud"), "--config", config, "--check"],
                                capture_output=True, text=True, timeout=60)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            with open(config, "a", encoding="utf-8") as f:
                f.write('dkim_ed25519_selector = "e2026"\ndkim_ed25519_key_file = "%s"\n' % rsa_key)
            r = subprocess.run([os.path.join(BIN, "homthud"), "--config", config, "--check"],
                               capture_output=True, text=True, timeout=60)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("smtp.dkim_ed25519_key_file", r.stderr)
            self.assertIn("not an Ed25519 key", r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    unittest.main()
