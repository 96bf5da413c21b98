"""The admin console end to end in headless Chromium: runs
tests/browser/console.test.mjs (playwright-core) against the real daemon.
Screenshots are kept under $HOMTHU_BIN/../browser-artifacts. Skipped, and
said so, when chromium, node or playwright-core is not installed."""

import os
import shutil
import subprocess
import unicodedata
import unittest

from harness import BIN, SOURCE, Homthu

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


@unittest.skipIf(missing(), missing())
class BrowserConsole(unittest.TestCase):
    def test_console_end_to_end(self):
        with Homthu(users=40) as h:
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
                       HOMTHU_ARTIFACTS=artifacts)
            r = subprocess.run(["node", os.path.join(BROWSER_DIR, "console.test.mjs")], env=env,
                               capture_output=True, text=True, timeout=300)
            print(r.stdout)
            print(r.stderr)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(artifacts, "04-account-hostile-name.png")))


if __name__ == "__main__":
    unittest.main()
