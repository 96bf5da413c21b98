"""The integration fixture: a private slapd loaded with the demo province and
the real homthud, on free loopback ports, in a temporary directory.

    from harness import Homthu
    with Homthu(users=50) as h:
        smtplib.SMTP(h.host, h.port("smtp"))

Environment: HOMTHU_BIN (directory of homthud and homthuctl) and
HOMTHU_SOURCE (repository root), both set by ctest. HOMTHU_KEEP=1 keeps the
temporary directory for a post-mortem.
"""

import csv
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

SOURCE = os.environ.get("HOMTHU_SOURCE", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("HOMTHU_BIN", os.path.join(SOURCE, "build", "bin"))
SLAPD_SH = os.path.join(SOURCE, "packaging", "slapd.sh")

LISTENERS = ("smtp", "submission", "smtps", "imap", "imaps", "admin", "admin_http")


# Tests never reach the machine's resolver: SPF/DKIM/DMARC lookups and MX
# lookups go to a closed loopback port and fail at once, unless a test sets
# its own dns_servers.
TEST_DNS = 'dns_servers = ["127.0.0.1:9"]'


def with_test_dns(extra):
    """config_extra with [smtp] dns_servers added (into its [smtp] table if it has one)."""
    if "dns_servers" in extra:
        return extra
    if re.search(r"^\[smtp\]\s*$", extra, re.M):
        return re.sub(r"^\[smtp\]\s*$", "[smtp]\n" + TEST_DNS, extra, count=1, flags=re.M)
    return extra + "\n[smtp]\n" + TEST_DNS + "\n"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("homthud exited with status %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d did not open within %.0f s" % (port, timeout))


class Homthu:
    host = "127.0.0.1"

    def __init__(self, users=50, password="Mat-khau-demo-2026", config_extra="", seed=1, bin_dir=None):
        self.bin = bin_dir or BIN  # homthud and homthuctl
        self.users = users
        self.password = password
        self.config_extra = config_extra
        self.seed = seed
        self.proc = None
        self.ports = {}
        self.data_dir = None

    # --- lifecycle ---------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.data_dir = tempfile.mkdtemp(prefix="homthu-it-")
        self.ldap_dir = os.path.join(self.data_dir, "ldap")
        self.demo_dir = os.path.join(self.data_dir, "demo")
        for name in LISTENERS + ("ldap",):
            self.ports[name] = free_port()
        self.ldap_uri = "ldap://127.0.0.1:%d" % self.ports["ldap"]

        self._run([SLAPD_SH, "setup", self.ldap_dir])
        self._run([os.path.join(self.bin, "homthuctl"), "demo", "ldif", "--users", str(self.users),
                   "--seed", str(self.seed), "--password-stdin", "--out", self.demo_dir],
                  input=self.password)
        self._run([SLAPD_SH, "load", self.ldap_dir, os.path.join(self.demo_dir, "demo.ldif")])
        env = self._run([SLAPD_SH, "env", self.ldap_dir]).stdout
        self.ldap_env = {}
        for line in env.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                self.ldap_env[k.strip()] = v.strip().strip("'\"")
        with open(os.path.join(self.demo_dir, "accounts.tsv"), encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        header = rows[0]
        self.accounts = [dict(zip(("address", "id", "name", "unit"), r)) for r in rows[1:]]
        assert header[0] == "address", header

        tls_dir = os.path.join(self.data_dir, "tls")
        os.makedirs(tls_dir)
        self.cafile = os.path.join(tls_dir, "cert.pem")
        self.keyfile = os.path.join(tls_dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "30", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.keyfile, "-out", self.cafile],
                       check=True, capture_output=True)
        self.config_path = os.path.join(self.data_dir, "homthu.toml")
        self.log_path = os.path.join(self.data_dir, "homthud.log")
        self.write_config()
        self.start_slapd()
        self.start_homthud()

    def write_config(self):
        listen = "\n".join('%s = "127.0.0.1:%d"' % (n, self.ports[n]) for n in LISTENERS)
        text = f"""
[server]
hostname = "localhost"
domains = ["thainguyen.gov.vn"]
data_dir = "{self.data_dir}"
shutdown_grace = "5s"

[log]
level = "debug"
file = "{self.log_path}"

[tls]
cert = "{self.cafile}"
key = "{self.keyfile}"

[listen]
{listen}

[ldap]
uri = "{self.ldap_uri}"
bind_dn = "{self.ldap_env.get('HOMTHU_LDAP_BIND_DN', '')}"
bind_password_file = "{self.ldap_env.get('HOMTHU_LDAP_SECRET_FILE', '')}"
timeout = "3s"

[argon2]
ops_limit = 2
mem_limit = "19M"
"""
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text + "\n" + with_test_dns(self.config_extra))

    def start_slapd(self):
        self._run([SLAPD_SH, "start", self.ldap_dir, self.ldap_uri])

    def stop_slapd(self):
        self._run([SLAPD_SH, "stop", self.ldap_dir])

    def start_homthud(self):
        stderr_path = os.path.join(self.data_dir, "homthud.stderr")
        for attempt in range(5):
            before = os.path.getsize(stderr_path) if os.path.exists(stderr_path) else 0
            log_before = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
            self.stderr = open(stderr_path, "ab")
            self.proc = subprocess.Popen([os.path.join(self.bin, "homthud"), "--config", self.config_path],
                                         stdout=self.stderr, stderr=self.stderr)
            try:
                # Listening sockets accept (into the backlog) from the bind
                # on, before the last listener is bound and storage opened:
                # an open port does not mean the daemon will stay up. It is
                # ready once it logs homthud.ready.
                self.wait_ready(log_before)
                return
            except RuntimeError:
                self.stderr.close()
                with open(stderr_path, "rb") as f:
                    f.seek(before)
                    taken = b"Address already in use" in f.read()
                if not taken or attempt == 4:
                    raise
                # Another process (a parallel test's client socket) took a
                # port between free_port() and homthud's bind: pick again.
                for name in LISTENERS:
                    self.ports[name] = free_port()
                self.write_config()

    def wait_ready(self, log_offset, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("homthud exited with status %d" % self.proc.returncode)
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(log_offset)
                    if b"event=homthud.ready " in f.read():
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise RuntimeError("homthud did not log homthud.ready within %.0f s" % timeout)

    def stop_homthud(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            # Died on its own: say how, so a failing run shows why every
            # later connection was refused.
            sys.stderr.write("homthud had already exited with status %d; last of its stderr and log:\n%s\n%s\n"
                             % (self.proc.returncode, self._tail(os.path.join(self.data_dir, "homthud.stderr")),
                                self._tail(self.log_path)))
        else:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        code = self.proc.returncode
        self.proc = None
        return code

    @staticmethod
    def _tail(path, size=3000):
        try:
            with open(path, "rb") as f:
                f.seek(max(0, os.path.getsize(path) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def restart_homthud(self, sig=signal.SIGTERM):
        self.stop_homthud(sig)
        self.start_homthud()

    def stop(self):
        self.stop_homthud()
        try:
            self.stop_slapd()
        except Exception:
            pass
        if self.data_dir and not os.environ.get("HOMTHU_KEEP"):
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- helpers for tests -------------------------------------------------

    def port(self, name):
        return self.ports[name]

    def account(self, i=0):
        return self.accounts[i]

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.cafile)
        return ctx

    def ctl(self, *args, input=None, check=False):
        return subprocess.run([os.path.join(self.bin, "homthuctl"), "--config", self.config_path, *args],
                              input=input, capture_output=True, text=True, check=check, timeout=300)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _run(self, argv, input=None):
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r
