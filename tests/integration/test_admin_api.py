"""The admin REST API against the real daemon and a real slapd: sign-in and
sessions, CSRF, every account/list/unit/import/audit/token endpoint, and the
role boundaries (a unit administrator gets 403 outside their district, an
auditor 403 on any change, no session 401); unit administrators granted and
revoked; lists enumerated, their policy and posters changed, members outside
a unit administrator's district refused; the dashboard's recent delivery
failures (mail bounced and deferred by a loopback aiosmtpd relay); the TOTP
second factor (codes computed here with hmac/hashlib)."""

import csv
import io
import re
import smtplib
import time
import unittest
import urllib.parse
import uuid

from admin_client import Admin, totp
from harness import Homthu
from test_smtp import Sink

q = urllib.parse.quote


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Remote mail goes to a loopback relay that refuses "reject*" and
        # defers "defer*" recipients: the dashboard's failures.
        cls.sink = Sink()
        cls.sink.controller.start()
        cls.h = Homthu(users=60, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n' % cls.sink.port)
        cls.h.start()
        cls.admin = Admin(cls.h)
        r = cls.admin.sign_in("admin@thainguyen.gov.vn", cls.h.password)
        assert r.status == 200, r.body
        units = cls.admin.get("/api/v1/units").json()["units"]
        cls.units = {u["id"]: u for u in units}

        def district_of(unit):
            seen = 0
            while unit and seen < 10:
                u = cls.units[unit]
                if u["kind"] == "district":
                    return unit
                unit = u["parent"]
                seen += 1
            return None

        cls.district_of = staticmethod(district_of)
        by_district = {}
        for a in cls.h.accounts:
            d = district_of(a["unit"])
            if d:
                by_district.setdefault(d, []).append(a)
        # Two districts that both hold demo accounts.
        ds = sorted(by_district, key=lambda d: -len(by_district[d]))
        cls.d_own, cls.d_other = ds[0], ds[1]
        cls.own_acct = by_district[cls.d_own][0]
        cls.other_acct = by_district[cls.d_other][0]
        cls.dept = next(u for u in cls.units.values() if u["kind"] == "department")

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.sink.controller.stop()

    def unit_admin(self, district=None):
        c = Admin(self.h)
        r = c.sign_in("qt.%s@thainguyen.gov.vn" % (district or self.d_own), self.h.password)
        self.assertEqual(r.status, 200, r.body)
        return c

    def auditor(self):
        c = Admin(self.h)
        r = c.sign_in("giamsat@thainguyen.gov.vn", self.h.password)
        self.assertEqual(r.status, 200, r.body)
        return c

    # --- sessions -------------------------------------------------------------

    def test_no_session_is_401(self):
        anon = Admin(self.h)
        for path in ("/api/v1/me", "/api/v1/accounts", "/api/v1/units", "/api/v1/audit", "/api/v1/dashboard"):
            self.assertEqual(anon.get(path).status, 401, path)
        self.assertEqual(anon.post("/api/v1/accounts", {"address": "x"}).status, 401)
        anon.cookie = "forged-session-id"
        self.assertEqual(anon.get("/api/v1/me").status, 401)

    def test_sign_in_cookie_flags_and_role(self):
        c = Admin(self.h)
        r = c.sign_in("admin@thainguyen.gov.vn", self.h.password)
        self.assertEqual(r.status, 200)
        cookie = r.header("Set-Cookie")
        self.assertTrue(cookie.startswith("__Host-homthu="))
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(flag, cookie)
        self.assertNotIn("Domain=", cookie)
        body = r.json()
        self.assertEqual(body["role"], "province-admin")
        self.assertGreaterEqual(len(body["csrf"]), 40)
        me = c.get("/api/v1/me").json()
        self.assertEqual(me["account"]["address"], "admin@thainguyen.gov.vn")

    def test_security_headers_on_api(self):
        r = self.admin.get("/api/v1/me")
        self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertIn("max-age=31536000", r.header("Strict-Transport-Security"))

    def test_console_files_revalidate_with_etag_and_api_is_never_kept(self):
        r = self.admin.get("/js/app.js")
        self.assertEqual(r.status, 200)
        tag = r.header("ETag")
        self.assertRegex(tag or "", r'^"[0-9a-f]{16}"$')
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        again = self.admin.get("/js/app.js", headers={"If-None-Match": tag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.header("ETag"), tag)
        stale = self.admin.get("/js/app.js", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual(stale.status, 200)
        self.assertEqual(stale.body, r.body)
        self.assertNotEqual(self.admin.get("/js/dom.js").header("ETag"), tag)
        self.assertEqual(self.admin.get("/api/v1/me").header("Cache-Control"), "no-store")

    def test_console_page_loads_one_bundle_named_after_its_content(self):
        page = Admin(self.h).get("/")
        self.assertEqual(page.header("Cache-Control"), "no-cache")
        html = page.body.decode()
        scripts = re.findall(r'<script[^>]*>', html)
        self.assertEqual(len(scripts), 1, scripts)
        bundle = re.fullmatch(r'<script type="module" src="(/js/console-[0-9a-f]{16}\.js)">', scripts[0])
        self.assertIsNotNone(bundle, scripts)
        self.assertNotIn("modulepreload", html)
        css = re.findall(r'<link rel="stylesheet" href="(/css/app-[0-9a-f]{16}\.css)">', html)
        self.assertEqual(len(css), 1, html)
        for path, kind in ((bundle.group(1), "text/javascript"), (css[0], "text/css")):
            r = Admin(self.h).get(path)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.header("Content-Type").startswith(kind), path)
            self.assertEqual(r.header("Cache-Control"), "public, max-age=31536000, immutable")
            self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        js = Admin(self.h).get(bundle.group(1)).body
        self.assertNotRegex(js, rb"\n(import|export) ")
        for name in (b"async function api(", b"function h(", b"function t(", b"function barChart(",
                     b"async function route("):
            self.assertIn(name, js)
        self.assertEqual(Admin(self.h).get(css[0]).body, Admin(self.h).get("/css/app.css").body)

    def test_wrong_password_is_401_and_same_message_for_unknown_user(self):
        c = Admin(self.h)
        a = c.sign_in("admin@thainguyen.gov.vn", "not-the-password")
        b = c.sign_in("nobody-here@thainguyen.gov.vn", "not-the-password")
        self.assertEqual(a.status, 401)
        self.assertEqual(b.status, 401)
        self.assertEqual(a.json(), b.json())

    def test_account_without_role_cannot_sign_in(self):
        c = Admin(self.h)
        r = c.sign_in(self.own_acct["address"], self.h.password)
        self.assertEqual(r.status, 403)

    def test_new_session_id_at_each_sign_in_and_old_one_dropped(self):
        c = Admin(self.h)
        c.sign_in("admin@thainguyen.gov.vn", self.h.password)
        first = c.cookie
        c.sign_in("admin@thainguyen.gov.vn", self.h.password)  # presents the first cookie
        self.assertNotEqual(first, c.cookie)
        old = Admin(self.h)
        old.cookie = first
        self.assertEqual(old.get("/api/v1/me").status, 401)
        self.assertEqual(c.get("/api/v1/me").status, 200)

    def test_sign_out_ends_session(self):
        c = Admin(self.h)
        c.sign_in("admin@thainguyen.gov.vn", self.h.password)
        self.assertEqual(c.delete("/api/v1/session").status, 204)
        self.assertEqual(c.get("/api/v1/me").status, 401)

    def test_sign_in_needs_json(self):
        c = Admin(self.h)
        r = c.request("POST", "/api/v1/session", raw=b"login=admin&password=x",
                      content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 415)

    # --- CSRF -----------------------------------------------------------------

    def test_missing_or_wrong_csrf_is_403(self):
        body = {"address": "csrf-test", "name": "X", "unit": self.dept["id"]}
        self.assertEqual(self.admin.post("/api/v1/accounts", body, csrf=False).status, 403)
        r = self.admin.post("/api/v1/accounts", body, csrf=False, headers={"X-CSRF-Token": "wrong"})
        self.assertEqual(r.status, 403)
        self.assertIn("CSRF", r.json()["error"])
        self.assertEqual(self.admin.get("/api/v1/accounts/csrf-test").status, 404)

    def test_cross_origin_post_is_403(self):
        r = self.admin.post("/api/v1/accounts/%s/disable" % self.own_acct["id"],
                            headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertTrue(self.admin.get("/api/v1/accounts/%s" % self.own_acct["id"]).json()["enabled"])

    def test_state_change_by_get_is_impossible(self):
        r = self.admin.get("/api/v1/accounts/%s/disable" % self.own_acct["id"])
        self.assertEqual(r.status, 405)

    # --- accounts ---------------------------------------------------------------

    def test_list_pages_through_all_accounts(self):
        first = self.admin.get("/api/v1/accounts?limit=25").json()
        self.assertGreaterEqual(first["total"], len(self.h.accounts))
        seen = []
        offset = 0
        for _ in range(20):
            page = self.admin.get("/api/v1/accounts?limit=25&offset=%d" % offset).json()
            seen += [a["address"] for a in page["accounts"]]
            offset += 25
            if offset >= page["total"]:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), first["total"])
        for a in self.h.accounts:
            self.assertIn(a["address"], seen)

    def test_search_with_and_without_diacritics(self):
        import unicodedata
        target = next(a for a in self.h.accounts if any(ord(ch) > 127 for ch in a["name"]))
        folded = "".join(ch for ch in unicodedata.normalize("NFD", target["name"])
                         if unicodedata.category(ch) != "Mn").replace("Đ", "D").replace("đ", "d")
        for query in (target["name"], folded, folded.upper(), target["name"].lower()):
            r = self.admin.get("/api/v1/accounts?limit=500&q=" + q(query)).json()
            self.assertIn(target["address"], [a["address"] for a in r["accounts"]], query)
        by_addr = self.admin.get("/api/v1/accounts?q=" + q(target["address"])).json()
        self.assertEqual(by_addr["accounts"][0]["address"], target["address"])

    def test_filter_by_unit(self):
        r = self.admin.get("/api/v1/accounts?limit=500&unit=" + self.d_own).json()
        units = {a["unit"] for a in r["accounts"]}
        self.assertTrue(r["accounts"])
        for u in units:
            self.assertEqual(self.district_of(u), self.d_own)

    def test_bad_query_parameters_name_the_field(self):
        r = self.admin.get("/api/v1/accounts?limit=abc")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["field"], "limit")

    def test_account_lifecycle(self):
        unit = self.dept["id"]
        r = self.admin.post("/api/v1/accounts", {"address": "vongdoi", "name": "Võ Ngọc Đời", "unit": unit,
                                                 "quota_bytes": 1 << 30})
        self.assertEqual(r.status, 201, r.body)
        created = r.json()
        self.assertEqual(created["account"]["address"], "vongdoi@thainguyen.gov.vn")
        generated = created["password"]
        self.assertGreaterEqual(len(generated), 12)
        # The generated password works: the directory accepts it (403 only
        # because the account has no administrator role, not 401).
        self.assertEqual(Admin(self.h).sign_in("vongdoi@thainguyen.gov.vn", generated).status, 403)
        self.assertEqual(self.admin.post("/api/v1/accounts", {"address": "vongdoi", "name": "X", "unit": unit}).status, 409)

        got = self.admin.get("/api/v1/accounts/vongdoi").json()
        self.assertEqual(got["name"], "Võ Ngọc Đời")
        self.assertEqual(got["quota_bytes"], 1 << 30)
        self.assertIn("usage", got)

        hostile = "<script>alert(1)</script> Đời"
        other_unit = next(u["id"] for u in self.units.values() if u["kind"] == "department" and u["id"] != unit)
        r = self.admin.patch("/api/v1/accounts/vongdoi", {"name": hostile, "quota_bytes": 2 << 30, "unit": other_unit,
                                                          "aliases": ["doi.vo"]})
        self.assertEqual(r.status, 200, r.body)
        a = r.json()
        self.assertEqual(a["name"], hostile)  # stored verbatim; the console renders it as text
        self.assertEqual(a["unit"], other_unit)
        self.assertEqual(a["aliases"], ["doi.vo@thainguyen.gov.vn"])
        self.assertEqual(a["quota_bytes"], 2 << 30)

        r = self.admin.patch("/api/v1/accounts/vongdoi", {"quota_bytes": "lots"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["field"], "quota_bytes")
        r = self.admin.patch("/api/v1/accounts/vongdoi", {"nmae": "typo"})
        self.assertEqual(r.json()["field"], "nmae")

        r = self.admin.post("/api/v1/accounts/vongdoi/password", {"password": "short"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["field"], "password")
        long_pw = "Mật-khẩu-rất-dài-" + "x" * 80
        self.assertEqual(self.admin.post("/api/v1/accounts/vongdoi/password", {"password": long_pw}).status, 200)
        self.assertEqual(Admin(self.h).sign_in("vongdoi@thainguyen.gov.vn", long_pw).status, 403)
        self.assertEqual(Admin(self.h).sign_in("vongdoi@thainguyen.gov.vn", long_pw[:64]).status, 401)  # no truncation
        r = self.admin.post("/api/v1/accounts/vongdoi/password", {"generate": True})
        self.assertEqual(r.status, 200)
        self.assertEqual(Admin(self.h).sign_in("vongdoi@thainguyen.gov.vn", r.json()["password"]).status, 403)

        self.assertFalse(self.admin.post("/api/v1/accounts/vongdoi/disable").json()["enabled"])
        self.assertEqual(self.admin.get("/api/v1/accounts?state=disabled&q=vongdoi").json()["total"], 1)
        self.assertTrue(self.admin.post("/api/v1/accounts/vongdoi/enable").json()["enabled"])

        r = self.admin.post("/api/v1/accounts/vongdoi/aliases", {"alias": "doi2"})
        self.assertEqual(r.status, 201, r.body)
        self.assertIn("doi2@thainguyen.gov.vn", r.json()["aliases"])
        self.assertEqual(self.admin.delete("/api/v1/accounts/vongdoi/aliases/doi2@thainguyen.gov.vn").status, 204)

        r = self.admin.post("/api/v1/accounts/vongdoi/app-passwords", {"label": "Điện thoại"})
        self.assertEqual(r.status, 201, r.body)
        app = r.json()
        self.assertTrue(app["password"])
        listed = self.admin.get("/api/v1/accounts/vongdoi/app-passwords").json()["app_passwords"]
        self.assertEqual([p["label"] for p in listed], ["Điện thoại"])
        self.assertNotIn("password", listed[0])
        self.assertEqual(self.admin.delete("/api/v1/accounts/vongdoi/app-passwords/%s" % app["id"]).status, 204)
        self.assertEqual(self.admin.get("/api/v1/accounts/vongdoi/app-passwords").json()["app_passwords"], [])

        self.assertEqual(self.admin.delete("/api/v1/accounts/vongdoi").status, 204)
        self.assertEqual(self.admin.get("/api/v1/accounts/vongdoi").status, 404)

        log = self.admin.get("/api/v1/audit?target=vongdoi&limit=100").json()["records"]
        actions = {r["action"] for r in log}
        for act in ("account.create", "account.modify", "account.password", "account.disable", "account.enable",
                    "account.alias.add", "account.app_password.add", "account.delete"):
            self.assertIn(act, actions)
        for rec in log:
            if rec["action"] == "session.create":
                continue  # the sign-in checks above, made by vongdoi itself
            self.assertEqual(rec["actor"], "admin")
            self.assertEqual(rec["client"], "127.0.0.1")
            self.assertNotIn(long_pw, str(rec["detail"]))

    def test_create_validation_names_fields(self):
        cases = [
            ({"name": "X", "unit": self.dept["id"]}, "address"),
            ({"address": "a1", "unit": self.dept["id"]}, "name"),
            ({"address": "a1", "name": "X"}, "unit"),
            ({"address": "a1", "name": "X", "unit": self.dept["id"], "quota_bytes": -5}, "quota_bytes"),
            ({"address": "a1", "name": "X\nBcc: y", "unit": self.dept["id"]}, "name"),
        ]
        for body, field in cases:
            r = self.admin.post("/api/v1/accounts", body)
            self.assertEqual(r.status, 400, body)
            self.assertEqual(r.json().get("field"), field, r.body)
        r = self.admin.request("POST", "/api/v1/accounts", raw=b"{not json", content_type="application/json")
        self.assertEqual(r.status, 400)
        r = self.admin.post("/api/v1/accounts", {"address": "a1", "name": "X", "unit": "no-such-unit"})
        self.assertIn(r.status, (400, 404))

    # --- roles -------------------------------------------------------------------

    def test_unit_admin_is_confined_to_their_district(self):
        c = self.unit_admin()
        own, other = self.own_acct["id"], self.other_acct["id"]
        self.assertEqual(c.get("/api/v1/accounts/" + own).status, 200)
        self.assertEqual(c.get("/api/v1/accounts/" + other).status, 403)
        self.assertEqual(c.patch("/api/v1/accounts/" + other, {"name": "Hacked"}).status, 403)
        self.assertEqual(c.post("/api/v1/accounts/%s/password" % other, {"generate": True}).status, 403)
        self.assertEqual(c.post("/api/v1/accounts/%s/disable" % other).status, 403)
        self.assertEqual(c.delete("/api/v1/accounts/" + other).status, 403)
        self.assertEqual(c.get("/api/v1/accounts?unit=" + self.d_other).status, 403)
        self.assertEqual(c.post("/api/v1/accounts", {"address": "lan-sang", "name": "X", "unit": self.d_other}).status, 403)
        # Its list shows its district only.
        r = c.get("/api/v1/accounts?limit=500").json()
        self.assertTrue(r["accounts"])
        for a in r["accounts"]:
            self.assertEqual(self.district_of(a["unit"]), self.d_own, a)
        # It may change its own district's accounts.
        r = c.post("/api/v1/accounts", {"address": "trong-huyen", "name": "Trong Huyện", "unit": self.d_own})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(c.delete("/api/v1/accounts/trong-huyen").status, 204)
        self.assertEqual(self.admin.get("/api/v1/accounts/" + other).json()["name"], self.other_acct["name"])
        # Denials are audited too.
        log = self.admin.get("/api/v1/audit?actor=qt.%s&action=account.modify" % self.d_own).json()["records"]
        self.assertTrue(any(r["outcome"] == "403" and r["target"] == other for r in log))
        # Its own audit view is limited to itself.
        self.assertEqual(c.get("/api/v1/audit?actor=admin").status, 403)

    def test_auditor_reads_but_every_change_is_403(self):
        c = self.auditor()
        own = self.own_acct["id"]
        self.assertEqual(c.get("/api/v1/accounts/" + own).status, 200)
        self.assertEqual(c.get("/api/v1/accounts").status, 200)
        self.assertEqual(c.get("/api/v1/audit").status, 200)
        changes = [
            ("POST", "/api/v1/accounts", {"address": "kiem-tra", "name": "X", "unit": self.dept["id"]}),
            ("PATCH", "/api/v1/accounts/" + own, {"name": "X"}),
            ("POST", "/api/v1/accounts/%s/password" % own, {"generate": True}),
            ("POST", "/api/v1/accounts/%s/disable" % own, {}),
            ("POST", "/api/v1/accounts/%s/aliases" % own, {"alias": "kt"}),
            ("POST", "/api/v1/accounts/%s/app-passwords" % own, {"label": "x"}),
            ("DELETE", "/api/v1/accounts/" + own, None),
            ("POST", "/api/v1/lists", {"address": "kt-list", "name": "X"}),
            ("POST", "/api/v1/imports", None),
        ]
        for method, path, body in changes:
            if path.endswith("imports"):
                r = c.request(method, path, raw=b"address,name,unit\nx,X,%s\n" % self.dept["id"].encode())
            else:
                r = c.request(method, path, body)
            self.assertEqual(r.status, 403, "%s %s: %s" % (method, path, r.body))
        self.assertTrue(self.admin.get("/api/v1/accounts/" + own).json()["enabled"])

    def test_disabling_an_admin_kills_their_sessions(self):
        c = self.unit_admin()
        self.assertEqual(c.get("/api/v1/me").status, 200)
        uid = "qt." + self.d_own
        self.assertEqual(self.admin.post("/api/v1/accounts/%s/disable" % uid).status, 200)
        try:
            self.assertEqual(c.get("/api/v1/me").status, 401)
            self.assertEqual(Admin(self.h).sign_in(uid + "@thainguyen.gov.vn", self.h.password).status, 401)
        finally:
            self.assertEqual(self.admin.post("/api/v1/accounts/%s/enable" % uid).status, 200)

    # --- units, lists -------------------------------------------------------------

    def test_units_tree_counts(self):
        units = self.admin.get("/api/v1/units").json()["units"]
        tops = [u for u in units if not u["parent"]]
        self.assertEqual(sum(u["total"] for u in tops), sum(u["accounts"] for u in units))
        self.assertGreaterEqual(sum(u["accounts"] for u in units), len(self.h.accounts))
        d = next(u for u in units if u["id"] == self.d_own)
        below = [u for u in units if self.district_of(u["id"]) == self.d_own]
        self.assertEqual(d["total"], sum(u["accounts"] for u in below))

    def test_lists(self):
        r = self.admin.post("/api/v1/lists", {"address": "phong-hop", "name": "Phòng họp", "unit": "",
                                              "policy": "members"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["policy"], "members")
        r = self.admin.post("/api/v1/lists/phong-hop/members", {"member": self.own_acct["address"]})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["members"], [self.own_acct["address"]])
        got = self.admin.get("/api/v1/lists/phong-hop@thainguyen.gov.vn").json()
        self.assertEqual(got["name"], "Phòng họp")
        self.assertEqual(self.admin.delete("/api/v1/lists/phong-hop/members/" + self.own_acct["address"]).status, 204)
        self.assertEqual(self.admin.get("/api/v1/lists/phong-hop").json()["members"], [])
        r = self.admin.post("/api/v1/lists", {"address": "x-list", "name": "X", "policy": "everyone"})
        self.assertEqual(r.json()["field"], "policy")
        self.assertEqual(self.admin.delete("/api/v1/lists/phong-hop").status, 204)
        self.assertEqual(self.admin.get("/api/v1/lists/phong-hop").status, 404)

    def test_all_lists_in_scope(self):
        r = self.admin.post("/api/v1/lists", {"address": "ds-tinh", "name": "Danh sách tỉnh", "unit": ""})
        self.assertEqual(r.status, 201, r.body)
        r = self.admin.post("/api/v1/lists", {"address": "ds-huyen", "name": "Danh sách huyện", "unit": self.d_own})
        self.assertEqual(r.status, 201, r.body)
        try:
            self.assertEqual(self.admin.post("/api/v1/lists/ds-huyen/members",
                                             {"member": self.own_acct["address"]}).status, 201)
            lists = self.admin.get("/api/v1/lists").json()["lists"]
            by_addr = {l["address"]: l for l in lists}
            self.assertEqual([l["address"] for l in lists], sorted(by_addr))
            self.assertIn("ds-tinh@thainguyen.gov.vn", by_addr)
            self.assertIn("toantinh@thainguyen.gov.vn", by_addr)  # the demo's province-wide list
            huyen = by_addr["ds-huyen@thainguyen.gov.vn"]
            self.assertEqual((huyen["name"], huyen["unit"], huyen["member_count"]), ("Danh sách huyện", self.d_own, 1))
            self.assertNotIn("members", huyen)  # counted, not listed
            self.assertEqual(by_addr["ds-tinh@thainguyen.gov.vn"]["member_count"], 0)
            self.assertGreaterEqual(by_addr["toantinh@thainguyen.gov.vn"]["member_count"], len(self.h.accounts))
            # A unit administrator sees the lists of their district only.
            mine = self.unit_admin().get("/api/v1/lists").json()["lists"]
            self.assertIn("ds-huyen@thainguyen.gov.vn", [l["address"] for l in mine])
            for l in mine:
                self.assertEqual(self.district_of(l["unit"]), self.d_own, l)
        finally:
            self.admin.delete("/api/v1/lists/ds-tinh")
            self.admin.delete("/api/v1/lists/ds-huyen")

    def test_list_policy_and_posters(self):
        r = self.admin.post("/api/v1/lists", {"address": "ban-bien-tap", "name": "Ban biên tập", "unit": self.d_own})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json()["policy"], "authenticated")
        try:
            r = self.admin.patch("/api/v1/lists/ban-bien-tap", {"policy": "moderators", "name": "Ban Biên Tập",
                                                                "posters": [self.own_acct["address"].upper()]})
            self.assertEqual(r.status, 200, r.body)
            got = self.admin.get("/api/v1/lists/ban-bien-tap").json()
            self.assertEqual((got["policy"], got["name"], got["posters"]),
                             ("moderators", "Ban Biên Tập", [self.own_acct["address"]]))
            r = self.admin.patch("/api/v1/lists/ban-bien-tap", {"policy": "everyone"})
            self.assertEqual((r.status, r.json()["field"]), (400, "policy"))
            r = self.admin.patch("/api/v1/lists/ban-bien-tap", {"posters": ["khong-co-ai@thainguyen.gov.vn"]})
            self.assertEqual(r.status, 400, r.body)
            self.assertEqual(self.admin.get("/api/v1/lists/ban-bien-tap").json()["posters"], [self.own_acct["address"]])
            r = self.admin.patch("/api/v1/lists/ban-bien-tap", {"posters": []})
            self.assertEqual(r.json()["posters"], [])
            # The auditor reads it but cannot change it.
            self.assertEqual(self.auditor().patch("/api/v1/lists/ban-bien-tap", {"policy": "anyone"}).status, 403)
            self.assertEqual(self.admin.get("/api/v1/lists/ban-bien-tap").json()["policy"], "moderators")
            log = self.admin.get("/api/v1/audit?action=list.modify&target=ban-bien-tap").json()["records"]
            self.assertTrue(any(rec["outcome"] == "ok" and rec["detail"].get("policy") == "moderators" for rec in log))
        finally:
            self.admin.delete("/api/v1/lists/ban-bien-tap")

    def test_unit_admin_cannot_add_members_or_posters_outside_their_district(self):
        c = self.unit_admin()
        r = c.post("/api/v1/lists", {"address": "to-cong-tac", "name": "Tổ công tác", "unit": self.d_own})
        self.assertEqual(r.status, 201, r.body)
        try:
            self.assertEqual(c.post("/api/v1/lists/to-cong-tac/members", {"member": self.own_acct["address"]}).status, 201)
            for outside in (self.other_acct["address"], "toantinh@thainguyen.gov.vn"):
                r = c.post("/api/v1/lists/to-cong-tac/members", {"member": outside})
                self.assertEqual(r.status, 403, outside)
            r = c.patch("/api/v1/lists/to-cong-tac", {"policy": "moderators", "posters": [self.other_acct["address"]]})
            self.assertEqual(r.status, 403, r.body)
            got = self.admin.get("/api/v1/lists/to-cong-tac").json()
            self.assertEqual(got["members"], [self.own_acct["address"]])
            self.assertEqual((got["policy"], got["posters"]), ("authenticated", []))
            # The province administrator may add anyone.
            self.assertEqual(self.admin.post("/api/v1/lists/to-cong-tac/members",
                                             {"member": self.other_acct["address"]}).status, 201)
            # ... and the unit administrator may still take them off their list.
            self.assertEqual(c.delete("/api/v1/lists/to-cong-tac/members/" + self.other_acct["address"]).status, 204)
            log = self.admin.get("/api/v1/audit?action=list.member.add&target=to-cong-tac").json()["records"]
            self.assertTrue(any(rec["outcome"] == "403" and rec["detail"]["member"] == self.other_acct["address"]
                                for rec in log))
        finally:
            self.admin.delete("/api/v1/lists/to-cong-tac")

    def test_unit_administrators_listed_granted_and_revoked(self):
        admins = self.admin.get("/api/v1/admins?role=unit-admin").json()["admins"]
        by_addr = {a["address"]: a for a in admins}
        qt = by_addr["qt.%s@thainguyen.gov.vn" % self.d_own]
        self.assertEqual((qt["role"], qt["units"]), ("unit-admin", [self.d_own]))
        self.assertIn("qt.%s@thainguyen.gov.vn" % self.d_other, by_addr)
        self.assertTrue(all(a["role"] == "unit-admin" for a in admins))
        everyone = {a["address"]: a["role"] for a in self.admin.get("/api/v1/admins").json()["admins"]}
        self.assertEqual(everyone["admin@thainguyen.gov.vn"], "province-admin")
        self.assertEqual(everyone["giamsat@thainguyen.gov.vn"], "auditor")
        self.assertEqual(self.admin.get("/api/v1/admins?role=boss").status, 400)
        # A unit administrator sees the administrators of their district, not the others.
        mine = [a["address"] for a in self.unit_admin().get("/api/v1/admins?role=unit-admin").json()["admins"]]
        self.assertIn("qt.%s@thainguyen.gov.vn" % self.d_own, mine)
        self.assertNotIn("qt.%s@thainguyen.gov.vn" % self.d_other, mine)

        commune = next(u["id"] for u in self.units.values() if u["parent"] == self.d_other)
        r = self.admin.post("/api/v1/accounts", {"address": "can-bo-xa", "name": "Cán Bộ Xã", "unit": commune,
                                                 "password": "Mat-khau-can-bo-2026"})
        self.assertEqual(r.status, 201, r.body)
        try:
            self.assertEqual(Admin(self.h).sign_in("can-bo-xa@thainguyen.gov.vn", "Mat-khau-can-bo-2026").status, 403)
            # Only a province administrator grants.
            r = self.unit_admin().post("/api/v1/units/%s/admins" % self.d_own, {"account": "can-bo-xa"})
            self.assertEqual(r.status, 403, r.body)
            r = self.admin.post("/api/v1/units/%s/admins" % commune, {"account": "can-bo-xa@thainguyen.gov.vn"})
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual((r.json()["role"], r.json()["units"]), ("unit-admin", [commune]))
            self.assertEqual(self.admin.post("/api/v1/units/%s/admins" % commune, {"account": "can-bo-xa"}).status, 409)
            self.assertEqual(self.admin.post("/api/v1/units/khong-co/admins", {"account": "can-bo-xa"}).status, 404)
            c = Admin(self.h)
            r = c.sign_in("can-bo-xa@thainguyen.gov.vn", "Mat-khau-can-bo-2026")
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual((r.json()["role"], r.json()["units"]), ("unit-admin", [commune]))
            self.assertEqual(c.get("/api/v1/accounts/" + self.own_acct["id"]).status, 403)
            listed = {a["address"]: a for a in self.admin.get("/api/v1/admins?role=unit-admin").json()["admins"]}
            self.assertEqual(listed["can-bo-xa@thainguyen.gov.vn"]["units"], [commune])
            # The district's administrator sees who administers a commune of theirs.
            other_view = self.unit_admin(self.d_other).get("/api/v1/admins?role=unit-admin").json()["admins"]
            self.assertIn("can-bo-xa@thainguyen.gov.vn", [a["address"] for a in other_view])
            # A province administrator or auditor keeps their role.
            self.assertEqual(self.admin.post("/api/v1/units/%s/admins" % commune, {"account": "giamsat"}).status, 409)

            r = self.admin.delete("/api/v1/units/%s/admins/can-bo-xa" % commune)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["role"], "none")
            self.assertEqual(c.get("/api/v1/me").status, 401)  # its session ended with the role
            self.assertEqual(Admin(self.h).sign_in("can-bo-xa@thainguyen.gov.vn", "Mat-khau-can-bo-2026").status, 403)
            self.assertEqual(self.admin.delete("/api/v1/units/%s/admins/can-bo-xa" % commune).status, 404)
            log = self.admin.get("/api/v1/audit?action=unit.admin.&target=%s" % commune).json()["records"]
            actions = {(rec["action"], rec["outcome"]) for rec in log}
            self.assertIn(("unit.admin.grant", "ok"), actions)
            self.assertIn(("unit.admin.revoke", "ok"), actions)
            self.assertTrue(all(rec["detail"]["account"] == "can-bo-xa@thainguyen.gov.vn"
                                for rec in log if rec["outcome"] == "ok"))
            log = self.admin.get("/api/v1/audit?action=unit.admin.grant&actor=qt.%s" % self.d_own).json()["records"]
            self.assertTrue(any(rec["outcome"] == "403" for rec in log))
        finally:
            self.admin.delete("/api/v1/accounts/can-bo-xa")

    # --- the dashboard's recent delivery failures ------------------------------------

    def test_recent_delivery_failures(self):
        a = self.own_acct
        mid = "%s@failures.test" % uuid.uuid4().hex
        rcpts = ["reject-bao-cao@example.org", "defer-bao-cao@example.org"]
        msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: Bao cao\r\nMessage-ID: <%s>\r\n\r\nKinh gui.\r\n"
               % (a["address"], rcpts[0], mid)).encode()
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            s.login(a["address"], self.h.password)
            self.assertEqual(s.sendmail(a["address"], rcpts, msg), {})
        deadline = time.monotonic() + 60
        mine = []
        while time.monotonic() < deadline:
            r = self.admin.get("/api/v1/delivery-log/failures?limit=50")
            self.assertEqual(r.status, 200, r.body)
            mine = [f for f in r.json()["failures"] if f["message_id"] == mid]
            if {f["kind"] for f in mine} == {"bounced", "deferred"}:
                break
            time.sleep(0.3)
        by_kind = {f["kind"]: f for f in mine}
        self.assertEqual(set(by_kind), {"bounced", "deferred"}, mine)
        bounced, deferred = by_kind["bounced"], by_kind["deferred"]
        self.assertEqual((bounced["sender"], bounced["recipient"]), (a["address"], rcpts[0]))
        self.assertIn("550", bounced["reply"])
        self.assertEqual(deferred["recipient"], rcpts[1])
        self.assertIn("451", deferred["reply"])
        self.assertTrue(bounced["trace"])
        self.assertGreater(bounced["time_ms"], 0)
        # Newest first; nothing but failures.
        every = self.admin.get("/api/v1/delivery-log/failures?limit=50").json()["failures"]
        self.assertEqual([f["id"] for f in every], sorted((f["id"] for f in every), reverse=True))
        self.assertTrue(all(f["kind"] in ("bounced", "deferred") for f in every))
        self.assertEqual(len(self.admin.get("/api/v1/delivery-log/failures?limit=1").json()["failures"]), 1)
        self.assertEqual(self.admin.get("/api/v1/delivery-log/failures?limit=abc").status, 400)
        # Scoped like the delivery log: the sender's district sees them, another district does not.
        own = [f["message_id"] for f in self.unit_admin().get("/api/v1/delivery-log/failures?limit=50").json()["failures"]]
        self.assertIn(mid, own)
        other = self.unit_admin(self.d_other).get("/api/v1/delivery-log/failures?limit=50").json()["failures"]
        self.assertNotIn(mid, [f["message_id"] for f in other])
        self.assertIn(mid, [f["message_id"] for f in self.auditor().get("/api/v1/delivery-log/failures").json()["failures"]])
        # The link the dashboard offers finds the message in the delivery log.
        found = self.admin.get("/api/v1/delivery-log?message_id=" + q(mid)).json()["messages"]
        self.assertEqual([m["trace"] for m in found], [bounced["trace"]])

    # --- bulk import ---------------------------------------------------------------

    def test_bulk_import_report_confirm_result(self):
        unit = self.dept["id"]
        text = ("address,name,unit,quota,password\n"
                "nhap1,Nguyễn Nhập Một,%s,1G,\n"
                "nhap2@thainguyen.gov.vn,\"Trần, Nhập Hai\",%s,,generate\n"
                "nhap3,Lê Ba,no-such-unit,,\n"
                "nhap1,Trùng Lặp,%s,,\n"
                "nhap4,Phạm Bốn,%s,lots,\n"
                "%s,Đã Có,%s,,\n" % (unit, unit, unit, unit, self.own_acct["address"], unit))
        r = self.admin.request("POST", "/api/v1/imports", raw=text.encode("utf-8"))
        self.assertEqual(r.status, 201, r.body)
        job = r.json()
        self.assertEqual((job["total"], job["valid"], job["invalid"]), (6, 2, 4))
        errors = {row["row"]: row.get("error", "") for row in job["rows"]}
        self.assertTrue(errors[3].startswith("unit:"))
        self.assertIn("twice", errors[4])
        self.assertTrue(errors[5].startswith("quota:"))
        self.assertIn("already exists", errors[6])
        # Nothing is written before the confirmation.
        self.assertEqual(self.admin.get("/api/v1/accounts/nhap1").status, 404)
        # Another administrator cannot see the job (its result holds passwords).
        self.assertEqual(self.unit_admin().get("/api/v1/imports/" + job["id"]).status, 404)
        r = self.admin.post("/api/v1/imports/%s/confirm" % job["id"])
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.admin.post("/api/v1/imports/%s/confirm" % job["id"]).status, 409)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = self.admin.get("/api/v1/imports/" + job["id"]).json()
            if st["state"] == "done":
                break
            time.sleep(0.2)
        self.assertEqual(st["state"], "done")
        self.assertEqual((st["created"], st["failed"]), (2, 0))
        res = self.admin.get("/api/v1/imports/%s/result.csv" % job["id"])
        self.assertEqual(res.status, 200)
        self.assertTrue(res.header("Content-Type").startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(res.body.decode("utf-8"))))
        made = {r["address"]: r for r in rows if r["status"] == "created"}
        self.assertEqual(set(made), {"nhap1@thainguyen.gov.vn", "nhap2@thainguyen.gov.vn"})
        self.assertEqual(made["nhap2@thainguyen.gov.vn"]["name"], "Trần, Nhập Hai")
        for addr, row in made.items():
            self.assertEqual(Admin(self.h).sign_in(addr, row["password"]).status, 403)  # password valid, no role
        self.assertEqual(self.admin.get("/api/v1/accounts/nhap1").json()["quota_bytes"], 1 << 30)
        self.assertTrue(self.admin.get("/api/v1/audit?action=account.create&target=nhap2").json()["records"])

    def test_import_rejects_bad_files(self):
        r = self.admin.request("POST", "/api/v1/imports", raw=b"name,unit\nX,y\n")
        self.assertEqual(r.status, 400)
        self.assertIn("address", r.json()["error"])
        r = self.admin.request("POST", "/api/v1/imports", raw=b'address,name,unit\n"open,X,y\n')
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["field"], "file")

    def test_unit_admin_import_outside_scope_is_reported(self):
        c = self.unit_admin()
        text = "address,name,unit\nngoai,Ngoài Phạm Vi,%s\n" % self.d_other
        job = c.request("POST", "/api/v1/imports", raw=text.encode()).json()
        self.assertEqual(job["invalid"], 1)
        self.assertIn("outside", job["rows"][0]["error"])

    # --- audit, tokens ---------------------------------------------------------------

    def test_audit_log_is_not_editable(self):
        for method in ("POST", "PATCH", "DELETE", "PUT"):
            r = self.admin.request(method, "/api/v1/audit", {} if method != "DELETE" else None)
            self.assertEqual(r.status, 405, method)
        r = self.admin.get("/api/v1/audit?action=session.create&limit=5").json()
        self.assertTrue(r["records"])
        self.assertEqual(r["records"][0]["client"], "127.0.0.1")

    def test_failed_sign_in_is_audited(self):
        Admin(self.h).sign_in("giamsat@thainguyen.gov.vn", "definitely-wrong")
        log = self.admin.get("/api/v1/audit?action=session.create&target=giamsat").json()["records"]
        self.assertTrue(any(r["outcome"] == "401" for r in log))

    def test_api_tokens(self):
        r = self.admin.post("/api/v1/tokens", {"label": "sao lưu", "scope": "read"})
        self.assertEqual(r.status, 201, r.body)
        read = r.json()
        self.assertTrue(read["token"].startswith("hmt_"))
        r = self.admin.post("/api/v1/tokens", {"label": "đồng bộ", "scope": "write"})
        write = r.json()

        bot = Admin(self.h)
        bot.token = read["token"]
        self.assertEqual(bot.get("/api/v1/accounts?limit=1").status, 200)
        self.assertEqual(bot.post("/api/v1/accounts/%s/disable" % self.own_acct["id"]).status, 403)
        self.assertEqual(bot.get("/api/v1/tokens").status, 403)  # tokens cannot manage tokens

        bot.token = write["token"]  # no cookie, no CSRF token: a script
        r = bot.post("/api/v1/accounts", {"address": "tu-dong", "name": "Tự Động", "unit": self.dept["id"]})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(bot.delete("/api/v1/accounts/tu-dong").status, 204)
        log = self.admin.get("/api/v1/audit?target=tu-dong").json()["records"]
        self.assertTrue(all(rec["detail"].get("token") == write["id"] for rec in log))

        listed = self.admin.get("/api/v1/tokens").json()["tokens"]
        self.assertIn(read["id"], [t["id"] for t in listed])
        self.assertNotIn("token", listed[0])
        self.assertEqual(self.admin.delete("/api/v1/tokens/" + write["id"]).status, 204)
        self.assertEqual(bot.get("/api/v1/me").status, 401)
        bot.token = read["token"][:-2] + "xx"
        self.assertEqual(bot.get("/api/v1/me").status, 401)

    def test_dashboard(self):
        d = self.admin.get("/api/v1/dashboard").json()
        self.assertEqual(d["directory"], "ok")
        self.assertGreaterEqual(d["accounts"]["active"] + d["accounts"]["disabled"], len(self.h.accounts))
        self.assertIn("storage_bytes", d)
        c = self.unit_admin()
        mine = c.get("/api/v1/dashboard").json()
        self.assertLess(mine["accounts"]["active"], d["accounts"]["active"])
        self.assertIsNone(mine["queue"])

    # --- limits and the console ------------------------------------------------------

    def test_oversized_body_is_413(self):
        import socket
        import ssl
        ctx = self.h.ssl_context()
        with socket.create_connection((self.h.host, self.h.port("admin")), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"POST /api/v1/imports HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999\r\n\r\n")
                self.assertIn(b" 413 ", s.recv(200))

    def test_oversized_headers_are_431(self):
        r = self.admin.get("/api/v1/me", headers={"X-Big": "a" * 20000})
        self.assertEqual(r.status, 431)

    def test_console_is_served_with_strict_csp(self):
        anon = Admin(self.h)
        r = anon.get("/")
        self.assertEqual(r.status, 200)
        page = r.body.decode("utf-8")
        self.assertIn('<html lang="vi">', page)
        self.assertNotIn("<script>", page)  # no inline script
        self.assertIn("default-src 'self'", r.header("Content-Security-Policy"))
        for path in ("/js/app.js", "/css/app.css", "/i18n/vi.json", "/i18n/en.json"):
            self.assertEqual(anon.get(path).status, 200, path)
        self.assertEqual(anon.get("/js/../../etc/passwd").status, 404)

    def test_api_latency_is_in_metrics(self):
        body = Admin(self.h).get("/metrics").body.decode()
        self.assertIn("homthu_admin_api_seconds_count", body)


class Throttle(unittest.TestCase):
    """Its own daemon: the throttle would lock the other tests out."""

    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=5, config_extra="[admin]\nlogin_attempts_per_minute = 5\n")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def test_sign_in_is_throttled_per_ip_and_logged(self):
        c = Admin(self.h)
        for i in range(5):
            self.assertEqual(c.sign_in("user%d@thainguyen.gov.vn" % i, "wrong-password").status, 401)
        r = c.sign_in("admin@thainguyen.gov.vn", self.h.password)
        self.assertEqual(r.status, 429)
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.assertIn("admin.login_throttled", self.h.log_text())
        self.assertIn("admin.login_failed", self.h.log_text())
        self.assertNotIn("wrong-password", self.h.log_text())


class SecondFactor(unittest.TestCase):
    """TOTP enrolment, sign-in, replay, reset and throttling, on a daemon of
    its own (the throttle would lock the other tests out)."""

    LIMIT = 5

    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=20, config_extra="[admin]\nlogin_attempts_per_minute = %d\n" % cls.LIMIT)
        cls.h.start()
        cls.admin = Admin(cls.h)
        assert cls.admin.sign_in("admin@thainguyen.gov.vn", cls.h.password).status == 200
        qt = [a for a in cls.admin.get("/api/v1/admins?role=unit-admin").json()["admins"] if a["units"]]
        cls.login = qt[0]["address"]
        cls.uid = qt[0]["id"]

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def enrol(self, c):
        """Starts and confirms an enrolment; returns the secret and the Unix
        time whose code confirmed it (that step is spent)."""
        r = c.post("/api/v1/me/totp")
        self.assertEqual(r.status, 201, r.body)
        secret = r.json()["secret"]
        at = time.time()
        r = c.post("/api/v1/me/totp/confirm", {"code": totp(secret, at)})
        self.assertEqual(r.status, 200, r.body)
        return secret, at

    @staticmethod
    def wrong_code(secret, at):
        near = {totp(secret, at + d) for d in (-60, -30, 0, 30, 60, 90)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)

    def test_totp_second_factor(self):
        pw = self.h.password
        u = Admin(self.h)
        self.assertEqual(u.sign_in(self.login, pw).status, 200)
        self.assertIs(u.get("/api/v1/me").json()["totp"], False)

        # Enrolment: a secret shown once, confirmed by a valid code.
        r = u.post("/api/v1/me/totp")
        self.assertEqual(r.status, 201, r.body)
        started = r.json()
        secret = started["secret"]
        self.assertRegex(secret, r"^[A-Z2-7]{32}$")  # 160 bits
        self.assertTrue(started["uri"].startswith("otpauth://totp/"))
        self.assertIn("secret=" + secret, started["uri"])
        self.assertIn("algorithm=SHA1&digits=6&period=30", started["uri"])
        self.assertIs(u.get("/api/v1/me").json()["totp"], False)  # not before the confirmation
        at = time.time()
        r = u.post("/api/v1/me/totp/confirm", {"code": self.wrong_code(secret, at)})
        self.assertEqual((r.status, r.json()["field"]), (400, "code"))
        self.assertEqual(u.post("/api/v1/me/totp/confirm", {"code": totp(secret, at)}).status, 200)
        self.assertIs(u.get("/api/v1/me").json()["totp"], True)
        self.assertEqual(u.post("/api/v1/me/totp").status, 409)  # no silent replacement
        self.assertIs(self.admin.get("/api/v1/accounts/" + self.uid).json()["totp"], True)
        # Scripts cannot enrol or remove a second factor.
        tok = self.admin.post("/api/v1/tokens", {"label": "totp", "scope": "write"}).json()["token"]
        bot = Admin(self.h)
        bot.token = tok
        self.assertEqual(bot.post("/api/v1/me/totp").status, 403)
        self.assertEqual(bot.delete("/api/v1/accounts/%s/totp" % self.uid).status, 403)

        # Sign-in now asks for the code; the next step's code lets in, once.
        c = Admin(self.h)
        r = c.sign_in(self.login, pw)
        self.assertEqual(r.status, 401)
        self.assertIs(r.json()["totp_required"], True)
        self.assertEqual(r.json()["field"], "code")
        self.assertIsNone(c.cookie)
        self.assertEqual(Admin(self.h).sign_in(self.login, "wrong-password-x", code=totp(secret)).status, 401)
        code = totp(secret, at + 30)
        r = c.sign_in(self.login, pw, code=code)
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json()["totp"], True)
        r = Admin(self.h).sign_in(self.login, pw, code=code)  # replay: failure 2 of this minute
        self.assertEqual(r.status, 401)
        self.assertIs(r.json()["totp_required"], True)

        # Disabling needs a current code; a unit administrator cannot reset others.
        r = u.post("/api/v1/me/totp/disable", {"code": self.wrong_code(secret, time.time())})
        self.assertEqual(r.status, 400)
        self.assertEqual(u.delete("/api/v1/accounts/admin/totp").status, 403)

        # A province administrator resets it (audited); the sessions made with it end.
        self.assertEqual(self.admin.delete("/api/v1/accounts/%s/totp" % self.uid).status, 204)
        self.assertEqual(self.admin.delete("/api/v1/accounts/%s/totp" % self.uid).status, 404)
        self.assertEqual(u.get("/api/v1/me").status, 401)
        self.assertEqual(c.get("/api/v1/me").status, 401)
        log = self.admin.get("/api/v1/audit?action=account.totp.reset").json()["records"]
        self.assertEqual([(rec["actor"], rec["target"], rec["outcome"]) for rec in log if rec["outcome"] == "ok"],
                         [("admin", self.login, "ok")])
        u = Admin(self.h)
        self.assertEqual(u.sign_in(self.login, pw).status, 200)  # password alone again

        # Enrol again and turn it off with a current code.
        secret2, at2 = self.enrol(u)
        self.assertNotEqual(secret2, secret)
        self.assertEqual(u.post("/api/v1/me/totp/disable", {"code": totp(secret2, at2)}).status, 400)  # spent
        self.assertEqual(u.post("/api/v1/me/totp/disable", {"code": totp(secret2, at2 + 30)}).status, 204)
        self.assertIs(u.get("/api/v1/me").json()["totp"], False)
        self.assertEqual(Admin(self.h).sign_in(self.login, pw).status, 200)

        # Sign-ins are audited with their second factor; secrets never reach the log.
        log = self.admin.get("/api/v1/audit?action=session.create&target=%s" % self.login).json()["records"]
        self.assertTrue(any(rec["outcome"] == "401" and rec["detail"].get("second_factor") for rec in log))
        self.assertTrue(any(rec["outcome"] == "ok" and rec["detail"].get("second_factor") == "totp" for rec in log))
        for s in (secret, secret2):
            self.assertNotIn(s, self.h.log_text())
            self.assertNotIn(s, str(log))

        # Wrong codes count as failed sign-ins: with at most two failures
        # (wrong password, replay) left in the window, wrong codes alone
        # reach the limit, and then even the right code is turned away.
        secret3, at3 = self.enrol(u)
        refused = []
        for _ in range(self.LIMIT + 1):
            r = Admin(self.h).sign_in(self.login, pw, code=self.wrong_code(secret3, at3))
            refused.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(refused[-1], 429, refused)
        self.assertGreaterEqual(refused.count(401), self.LIMIT - 2, refused)
        r = Admin(self.h).sign_in(self.login, pw, code=totp(secret3, at3 + 30))
        self.assertEqual(r.status, 429, r.body)
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.assertIn("admin.login_failed", self.h.log_text())


class RequiredSecondFactor(unittest.TestCase):
    """[admin] require_totp_for_province_admins: a province administrator
    without a confirmed second factor signs in to its enrolment only (403
    elsewhere) until a code confirms it; other roles are not affected."""

    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=10, config_extra="[admin]\nrequire_totp_for_province_admins = true\n")
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    LOGIN = "admin@thainguyen.gov.vn"

    def assert_enrol_only(self, c):
        for path in ("/api/v1/accounts", "/api/v1/units", "/api/v1/dashboard", "/api/v1/audit", "/api/v1/lists",
                     "/api/v1/tokens", "/api/v1/delivery-log/failures"):
            r = c.get(path)
            self.assertEqual(r.status, 403, path)
            self.assertIs(r.json()["second_factor_required"], True, path)
            self.assertIn("second factor must be enrolled first", r.json()["error"])
        self.assertEqual(c.post("/api/v1/accounts", {"address": "x@thainguyen.gov.vn", "name": "X",
                                                     "unit": "so-noi-vu"}).status, 403)
        self.assertEqual(c.post("/api/v1/tokens", {"label": "t", "scope": "write"}).status, 403)
        self.assertEqual(c.post("/api/v1/me/totp/disable", {"code": "123456"}).status, 403)
        me = c.get("/api/v1/me")
        self.assertEqual(me.status, 200)
        self.assertIs(me.json()["second_factor_required"], True)

    def assert_full(self, c):
        for path in ("/api/v1/accounts", "/api/v1/units", "/api/v1/audit"):
            self.assertEqual(c.get(path).status, 200, path)
        self.assertIs(c.get("/api/v1/me").json()["second_factor_required"], False)

    def test_province_admin_enrols_before_anything_else(self):
        pw = self.h.password
        u = Admin(self.h)
        r = u.sign_in(self.LOGIN, pw)
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json()["second_factor_required"], True)
        self.assertIs(r.json()["totp"], False)
        self.assertEqual(r.json()["role"], "province-admin")
        self.assert_enrol_only(u)
        other_tab = Admin(self.h)
        self.assertEqual(other_tab.sign_in(self.LOGIN, pw).status, 200)

        # Unit administrators and the auditor are not concerned.
        for login in ("giamsat@thainguyen.gov.vn", "qt.huyen-dai-tu@thainguyen.gov.vn"):
            c = Admin(self.h)
            r = c.sign_in(login, pw)
            self.assertEqual(r.status, 200, (login, r.body))
            self.assertIs(r.json()["second_factor_required"], False)
            self.assertEqual(c.get("/api/v1/accounts").status, 200, login)

        # Enrolment is open to the restricted session; the confirmation
        # lifts that session's restriction, not the other tab's.
        r = u.post("/api/v1/me/totp")
        self.assertEqual(r.status, 201, r.body)
        secret = r.json()["secret"]
        self.assert_enrol_only(u)  # pending is not enough
        at = time.time()
        self.assertEqual(u.post("/api/v1/me/totp/confirm", {"code": totp(secret, at)}).status, 200)
        self.assert_full(u)
        self.assert_enrol_only(other_tab)

        # Turning the factor off puts the account's sessions back to enrolment.
        self.assertEqual(u.post("/api/v1/me/totp/disable", {"code": totp(secret, at + 30)}).status, 204)
        self.assert_enrol_only(u)

        # Enrolled again: a sign-in with a code is a full session at once.
        r = u.post("/api/v1/me/totp")
        self.assertEqual(r.status, 201, r.body)
        secret2 = r.json()["secret"]
        at2 = time.time()
        self.assertEqual(u.post("/api/v1/me/totp/confirm", {"code": totp(secret2, at2)}).status, 200)
        c = Admin(self.h)
        r = c.sign_in(self.LOGIN, pw)
        self.assertEqual(r.status, 401)
        self.assertIs(r.json()["totp_required"], True)
        r = c.sign_in(self.LOGIN, pw, code=totp(secret2, at2 + 30))
        self.assertEqual(r.status, 200, r.body)
        self.assertIs(r.json()["second_factor_required"], False)
        self.assert_full(c)

        # The restricted sign-ins are audited as such; sign-out stays open.
        log = c.get("/api/v1/audit?action=session.create&target=%s" % self.LOGIN).json()["records"]
        self.assertTrue(any(rec["outcome"] == "ok" and rec["detail"].get("second_factor") == "enrolment required"
                            for rec in log), log)
        self.assertEqual(other_tab.delete("/api/v1/session").status, 204)
        self.assertEqual(other_tab.get("/api/v1/me").status, 401)


if __name__ == "__main__":
    unittest.main()
