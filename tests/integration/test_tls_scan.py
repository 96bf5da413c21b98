"""Every TLS endpoint scanned by an independent scanner (sslscan, Debian):
implicit TLS on smtps, imaps and admin, STARTTLS on submission and imap.
Policy (common/src/tls.cpp, Mozilla "intermediate"): only TLS 1.2 and 1.3;
TLS 1.2 suites are forward-secret AEAD (ECDHE/DHE with GCM or ChaCha20-
Poly1305); nothing with RC4, DES/3DES, NULL, EXPORT, MD5, anonymous key
exchange or CBC; no insecure renegotiation; not vulnerable to Heartbleed.

The scanner first checks itself against a deliberately weak openssl server
(TLS 1.0 and anonymous suites on): if it cannot see those, a clean result
would prove nothing, so the test fails instead.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from harness import Homthu, free_port, wait_for_port

SSLSCAN = shutil.which("sslscan")
FORBIDDEN = ("RC4", "DES", "NULL", "EXP", "MD5", "ADH", "AECDH", "CBC", "PSK", "SRP", "IDEA", "SEED")
AEAD = ("GCM", "CHACHA20", "CCM")
TLS13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
         "TLS_AES_128_CCM_SHA256"}


def scan(port, starttls=None):
    argv = [SSLSCAN, "--no-colour", "--xml=-", "--no-check-certificate", "--timeout=10"]
    if starttls:
        argv.append("--starttls-" + starttls)
    argv.append("127.0.0.1:%d" % port)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    xml = r.stdout[r.stdout.find("<?xml"):]
    root = ET.fromstring(xml)
    test = root.find("ssltest")
    if test is None:
        raise AssertionError("sslscan found no TLS on port %d: %s %s" % (port, r.stdout[-500:], r.stderr[-500:]))
    protocols = {"%s%s" % (p.get("type"), p.get("version")): p.get("enabled") == "1" for p in test.findall("protocol")}
    ciphers = [(c.get("sslversion"), c.get("cipher"), c.get("strength")) for c in test.findall("cipher")]
    reneg = test.find("renegotiation")
    heartbleed = [h.get("vulnerable") == "1" for h in test.findall("heartbleed")]
    return protocols, ciphers, reneg, heartbleed


class TlsScanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert SSLSCAN, "sslscan is not installed (packaging/install-deps.sh installs it)"
        cls.h = Homthu(users=2)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def test_scanner_sees_weak_servers(self):
        port = free_port()
        p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", self.h.cafile,
                              "-key", self.h.keyfile, "-www", "-cipher", "ALL:@SECLEVEL=0", "-tls1"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, 10)
            protocols, ciphers, _, _ = scan(port)
        finally:
            p.terminate()
            p.wait(10)
        self.assertTrue(protocols.get("tls1.0"), "sslscan cannot detect TLS 1.0 here: %s" % protocols)
        self.assertTrue(any("ADH" in c[1] or "AECDH" in c[1] for c in ciphers), ciphers)

    def check_policy(self, name, port, starttls=None):
        protocols, ciphers, reneg, heartbleed = scan(port, starttls)
        self.assertEqual({k for k, v in protocols.items() if v}, {"tls1.2", "tls1.3"}, "%s: %s" % (name, protocols))
        self.assertTrue(ciphers, "%s: no cipher accepted" % name)
        for version, cipher, strength in ciphers:
            if version == "TLSv1.3":
                self.assertIn(cipher, TLS13, name)
                continue
            self.assertEqual(version, "TLSv1.2", "%s: %s %s" % (name, version, cipher))
            for bad in FORBIDDEN:
                self.assertNotIn(bad, cipher, "%s offers %s" % (name, cipher))
            self.assertTrue(any(a in cipher for a in AEAD), "%s: %s is not AEAD" % (name, cipher))
            self.assertTrue(cipher.startswith(("ECDHE-", "DHE-")), "%s: %s is not forward-secret" % (name, cipher))
            self.assertNotIn(strength, ("weak", "null", "anonymous", "medium"), "%s: %s" % (name, cipher))
        if reneg is not None and reneg.get("supported") == "1":
            self.assertEqual(reneg.get("secure"), "1", "%s: insecure renegotiation" % name)
        self.assertFalse(any(heartbleed), name)
        return ciphers

    def test_smtps(self):
        self.check_policy("smtps", self.h.port("smtps"))

    def test_imaps(self):
        self.check_policy("imaps", self.h.port("imaps"))

    def test_admin_https(self):
        self.check_policy("admin", self.h.port("admin"))

    def test_submission_starttls(self):
        self.check_policy("submission STARTTLS", self.h.port("submission"), "smtp")

    def test_imap_starttls(self):
        self.check_policy("imap STARTTLS", self.h.port("imap"), "imap")


if __name__ == "__main__":
    unittest.main()
