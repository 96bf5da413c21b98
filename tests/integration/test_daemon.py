"""The daemon as an operator meets it: start-up errors, health, autoconfig,
the HTTP→HTTPS redirect, TLS policy, a slapd that is down at start, and a
clean stop on SIGTERM. Clients: curl, openssl s_client, Python's ssl."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, Homthu, free_port


def homthud(*args, timeout=20):
    return subprocess.run([os.path.join(BIN, "homthud"), *args], capture_output=True, text=True, timeout=timeout)


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, timeout=20)


class StartupErrors(unittest.TestCase):
    def write(self, text):
        d = tempfile.mkdtemp(prefix="homthu-cfg-")
        path = os.path.join(d, "homthu.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_unknown_key_names_file_line_and_key(self):
        path = self.write('[server]\nhostname = "x"\ndomains = ["thainguyen.gov.vn"]\nhostnme = "y"\n')
        r = homthud("--config", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:4: server.hostnme: unknown key" % path, r.stderr)

    def test_missing_file(self):
        r = homthud("--config", "/nonexistent/homthu.toml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/homthu.toml", r.stderr)

    def test_missing_certificate_is_named(self):
        d = tempfile.mkdtemp(prefix="homthu-cfg-")
        path = self.write('[server]\ndomains = ["thainguyen.gov.vn"]\ndata_dir = "%s"\n'
                          '[tls]\ncert = "/nonexistent/cert.pem"\nkey = "/nonexistent/key.pem"\n'
                          '[listen]\nimaps = "127.0.0.1:%d"\n' % (d, free_port()))
        r = homthud("--config", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("/nonexistent/cert.pem", r.stderr)

    def test_port_in_use_stops_startup_with_a_clear_message(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            d = tempfile.mkdtemp(prefix="homthu-cfg-")
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            path = self.write('[server]\ndomains = ["thainguyen.gov.vn"]\ndata_dir = "%s"\n'
                              '[tls]\ncert = "%s"\nkey = "%s"\n'
                              '[listen]\nsmtp = "127.0.0.1:%d"\n' % (d, cert, key, port))
            r = homthud("--config", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("listen smtp 127.0.0.1:%d" % port, r.stderr)
            # Nothing half-started: no mail store was created.
            self.assertFalse(os.path.exists(os.path.join(d, "mail")))


class Running(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=20)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def https(self, path, *args):
        return curl("--cacert", self.h.cafile, *args,
                    "https://localhost:%d%s" % (self.h.port("admin"), path))

    def test_healthz_reports_directory_and_disk(self):
        r = self.https("/healthz", "-w", "\n%{http_code}")
        body, code = r.stdout.rsplit("\n", 1)
        self.assertEqual(code, "200", r.stdout + r.stderr)
        health = json.loads(body)
        self.assertEqual(health["directory"], "ok")
        self.assertGreater(health["disk_free_bytes"], 0)

    def test_security_headers(self):
        r = self.https("/healthz", "-D", "-", "-o", "/dev/null")
        headers = r.stdout.lower()
        self.assertIn("strict-transport-security: max-age=31536000", headers)
        self.assertIn("x-content-type-options: nosniff", headers)
        self.assertIn("content-security-policy: default-src 'self'; frame-ancestors 'none'", headers)

    def test_thunderbird_autoconfig(self):
        r = self.https("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=an@thainguyen.gov.vn")
        self.assertIn('<incomingServer type="imap">', r.stdout)
        self.assertIn("<port>%d</port>" % self.h.port("imaps"), r.stdout)
        self.assertIn("<port>%d</port>" % self.h.port("smtps"), r.stdout)
        self.assertIn("<username>%EMAILADDRESS%</username>", r.stdout)
        # Served over plain HTTP too: Thunderbird asks there first.
        r = curl("http://127.0.0.1:%d/mail/config-v1.1.xml" % self.h.port("admin_http"))
        self.assertIn("<clientConfig", r.stdout)

    def test_outlook_autodiscover(self):
        body = ('<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
                'outlook/requestschema/2006"><Request><EMailAddress>An@ThaiNguyen.gov.vn</EMailAddress>'
                '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/'
                'responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
        r = self.https("/autodiscover/autodiscover.xml", "-X", "POST", "--data-binary", body,
                       "-H", "Content-Type: text/xml")
        self.assertIn("<Type>IMAP</Type>", r.stdout)
        self.assertIn("<LoginName>an@thainguyen.gov.vn</LoginName>", r.stdout)
        self.assertIn("<Port>%d</Port>" % self.h.port("imaps"), r.stdout)

    def test_plain_http_redirects_to_https(self):
        r = curl("-D", "-", "-o", "/dev/null", "http://127.0.0.1:%d/accounts?q=1" % self.h.port("admin_http"))
        self.assertIn("308", r.stdout.splitlines()[0])
        self.assertIn("location: https://127.0.0.1:%d/accounts?q=1" % self.h.port("admin"), r.stdout.lower())

    def test_oversized_headers_get_431_and_the_server_stays_up(self):
        r = self.https("/healthz", "-H", "X-Big: " + "a" * 20000, "-o", "/dev/null", "-w", "%{http_code}")
        self.assertEqual(r.stdout, "431")
        r = self.https("/healthz", "-o", "/dev/null", "-w", "%{http_code}")
        self.assertEqual(r.stdout, "200")

    def test_tls_1_1_is_refused_and_1_2_accepted(self):
        for port_name in ("imaps", "smtps", "admin"):
            port = self.h.port(port_name)
            old = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_1"],
                                 input="", capture_output=True, text=True, timeout=20)
            self.assertNotEqual(old.returncode, 0, port_name)
            new = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2"],
                                 input="", capture_output=True, text=True, timeout=20)
            self.assertIn("Protocol  : TLSv1.2", new.stdout, port_name)


class Lifecycle(unittest.TestCase):
    def test_starts_while_slapd_is_down_and_recovers(self):
        h = Homthu(users=5)
        try:
            h.start()
            h.stop_homthud()
            h.stop_slapd()
            # After a power cut the two may start in any order: homthud first.
            h.start_homthud()
            url = "https://localhost:%d/healthz" % h.port("admin")
            r = curl("--cacert", h.cafile, url)
            self.assertEqual(json.loads(r.stdout)["directory"], "unavailable", r.stdout)
            h.start_slapd()
            deadline = time.monotonic() + 30
            state = None
            while time.monotonic() < deadline:
                state = json.loads(curl("--cacert", h.cafile, url).stdout)["directory"]
                if state == "ok":
                    break
                time.sleep(0.5)
            self.assertEqual(state, "ok")
        finally:
            h.stop()

    def test_sighup_reloads_the_certificate_without_dropping_connections(self):
        h = Homthu(users=5)
        try:
            h.start()
            def fingerprint():
                r = subprocess.run("openssl s_client -connect 127.0.0.1:%d </dev/null 2>/dev/null"
                                   " | openssl x509 -noout -fingerprint -sha256" % h.port("imaps"),
                                   shell=True, capture_output=True, text=True, timeout=20)
                return r.stdout.strip()
            before = fingerprint()
            self.assertIn("Fingerprint", before)
            held = socket.create_connection(("127.0.0.1", h.port("imaps")))
            held_tls = h.ssl_context().wrap_socket(held, server_hostname="localhost")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "30", "-subj", "/CN=localhost",
                            "-keyout", h.keyfile, "-out", h.cafile], check=True, capture_output=True)
            h.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            after = before
            while after == before and time.monotonic() < deadline:
                time.sleep(0.2)
                after = fingerprint()
            self.assertNotEqual(after, before)
            # The connection made before the reload is still served.
            held_tls.settimeout(10)
            greeting = held_tls.recv(200)
            self.assertTrue(greeting.startswith(b"* OK"), greeting)
            held_tls.close()
        finally:
            h.stop()

    def test_sigterm_stops_cleanly(self):
        h = Homthu(users=5)
        try:
            h.start()
            with socket.create_connection(("127.0.0.1", h.port("imap"))):
                pass
            code = h.stop_homthud(signal.SIGTERM)
            self.assertEqual(code, 0)
            self.assertIn("event=homthud.stopped", h.log_text())
        finally:
            h.stop()


if __name__ == "__main__":
    unittest.main()
