"""The admin console end to end in headless Chromium: runs
tests/browser/console.test.mjs (playwright-core) against the real daemon.
Before it, mail is sent with smtplib (one local message, one that a loopback
relay bounces and defers) so that the charts, the delivery log and the
recent failures have something to show. Screenshots are kept under
$HOMTHU_BIN/../browser-artifacts. chromium, node and playwright-core are
installed by packaging/install-deps.sh: a missing one fails the test."""

import os
import shutil
import smtplib
import subprocess
import time
import unicodedata
import unittest
import uuid

from harness import BIN, SOURCE, Homthu
from test_smtp import Sink

BROWSER_DIR = os.path.join(SOURCE, "tests", "browser")


def missing():
    if not os.path.exists("/usr/bin/chromium"):
        return "chromium is not installed (packaging/install-deps.sh)"
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "playwright-core is not installed (npm ci --prefix tests/browser)"
    return None


def fold(s):
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn").lower()


class BrowserConsole(unittest.TestCase):
    def test_console_end_to_end(self):
        self.assertIsNone(missing(), missing())
        sink = Sink()
        sink.controller.start()
        self.addCleanup(sink.controller.stop)
        with Homthu(users=40, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n' % sink.port) as h:
            units = {}
            # The unit tree from the demo generator: district of each account.
            from admin_client import Admin
            admin = Admin(h)
            self.assertEqual(admin.sign_in("admin@thainguyen.gov.vn", h.password).status, 200)
            for u in admin.get("/api/v1/units").json()["units"]:
                units[u["id"]] = u

            def district(unit):
                for _ in range(10):
                    if not unit:
                        return None
                    if units[unit]["kind"] == "district":
                        return unit
                    unit = units[unit]["parent"]
                return None

            by_d = {}
            for a in h.accounts:
                d = district(a["unit"])
                if d:
                    by_d.setdefault(d, []).append(a)
            ds = sorted(by_d, key=lambda d: -len(by_d[d]))
            named = next(a for a in h.accounts if fold(a["name"]) != a["name"].lower())
            dept = next(u["id"] for u in units.values() if u["kind"] == "department")

            # Mail for the delivery log and the dashboard: a local message
            # and one bounced (reject-*) and deferred (defer-*) by the relay.
            sender, rcpt = by_d[ds[0]][0], by_d[ds[0]][1]
            local_mid = "%s@trinh-duyet.test" % uuid.uuid4().hex
            fail_mid = "%s@trinh-duyet.test" % uuid.uuid4().hex
            with smtplib.SMTP_SSL(h.host, h.port("smtps"), context=h.ssl_context(), timeout=30) as s:
                s.login(sender["address"], h.password)
                for mid, to in ((local_mid, [rcpt["address"]]),
                                (fail_mid, ["reject-trinh-duyet@example.org", "defer-trinh-duyet@example.org"])):
                    s.sendmail(sender["address"], to, ("From: <%s>\r\nTo: <%s>\r\nSubject: Giay moi\r\n"
                                                       "Message-ID: <%s>\r\n\r\nKinh gui.\r\n"
                                                       % (sender["address"], to[0], mid)).encode())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                kinds = {f["kind"] for f in admin.get("/api/v1/delivery-log/failures").json()["failures"]}
                hops = admin.get("/api/v1/delivery-log?message_id=" + local_mid).json()["messages"]
                if kinds == {"bounced", "deferred"} and hops and any(e["kind"] == "delivered" for e in hops[0]["events"]):
                    break
                time.sleep(0.3)
            artifacts = os.path.join(os.path.dirname(BIN.rstrip("/")), "browser-artifacts")
            env = dict(os.environ,
                       HOMTHU_ADMIN_URL="https://localhost:%d" % h.port("admin"),
                       HOMTHU_PASSWORD=h.password,
                       HOMTHU_UNIT_ADMIN="qt.%s@thainguyen.gov.vn" % ds[0],
                       HOMTHU_OTHER_ACCOUNT=by_d[ds[1]][0]["id"],
                       HOMTHU_SEARCH_NAME=named["name"],
                       HOMTHU_SEARCH_FOLDED=fold(named["name"]),
                       HOMTHU_SEARCH_ADDRESS=named["address"],
                       HOMTHU_DEPT=dept,
                       HOMTHU_DISTRICT=ds[0],
                       HOMTHU_MAIL_SENDER=sender["address"],
                       HOMTHU_MAIL_RCPT=rcpt["address"],
                       HOMTHU_MAIL_MID=local_mid,
                       HOMTHU_FAIL_MID=fail_mid,
                       HOMTHU_ARTIFACTS=artifacts)
            r = subprocess.run(["node", os.path.join(BROWSER_DIR, "console.test.mjs")], env=env,
                               capture_output=True, text=True, timeout=300)
            print(r.stdout)
            print(r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(artifacts, "04-account-hostile-name.png")))

    def test_province_admin_enrols_a_second_factor_first(self):
        """[admin] require_totp_for_province_admins: tests/browser/totp_required.test.mjs."""
        self.assertIsNone(missing(), missing())
        with Homthu(users=5, config_extra="[admin]\nrequire_totp_for_province_admins = true\n") as h:
            env = dict(os.environ,
                       HOMTHU_ADMIN_URL="https://localhost:%d" % h.port("admin"),
                       HOMTHU_PASSWORD=h.password,
                       HOMTHU_ARTIFACTS=os.path.join(os.path.dirname(BIN.rstrip("/")), "browser-artifacts"))
            r = subprocess.run(["node", os.path.join(BROWSER_DIR, "totp_required.test.mjs")], env=env,
                               capture_output=True, text=True, timeout=300)
            print(r.stdout)
            print(r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
