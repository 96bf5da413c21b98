"""The directory against a real slapd: the demo province as ldapsearch sees it,
homthuctl provisioning, authentication, role limits, injection attempts and
CSV import. ldapsearch/ldapwhoami are the independent clients."""

import json
import os
import subprocess
import tempfile
import unittest

from harness import Homthu

BASE = "dc=thainguyen,dc=gov,dc=vn"
USERS = 60


def ldap(h, tool, *args, bind_dn=None, password=None, secret_file=None):
    argv = [tool, "-x", "-LLL", "-o", "nettimeout=5", "-o", "ldif-wrap=no", "-H", h.ldap_uri]
    if tool == "ldapwhoami":
        argv = [tool, "-x", "-o", "nettimeout=5", "-H", h.ldap_uri]
    if bind_dn:
        argv += ["-D", bind_dn]
        if secret_file:
            argv += ["-y", secret_file]
        else:
            argv += ["-w", password]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)


def service_search(h, *args):
    return ldap(h, "ldapsearch", "-E", "pr=500/noprompt", "-b", BASE, *args,
                bind_dn=h.ldap_env["HOMTHU_LDAP_BIND_DN"], secret_file=h.ldap_env["HOMTHU_LDAP_BIND_PASSWORD_FILE"])


def dns(out):
    return [l[4:] for l in out.splitlines() if l.startswith("dn: ")]


class DirectoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = Homthu(users=USERS)
        cls.h.start()
        with open(os.path.join(cls.h.demo_dir, "admins.tsv"), encoding="utf-8") as f:
            rows = [l.rstrip("\n").split("\t") for l in f]
        cls.admins = [dict(zip(rows[0], r)) for r in rows[1:]]

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def ctl(self, *args, input=None):
        return self.h.ctl(*args, input=input)

    def check(self, login, password, service="imap"):
        return self.ctl("user", "check", login, "--password-stdin", "--service", service, input=password + "\n")

    def dept_account(self):
        units = json.loads(self.ctl("unit", "list", "--format", "json").stdout)
        kind = {u["id"]: u["kind"] for u in units}
        return next(a for a in self.h.accounts if kind[a["unit"]] == "department")

    # --- the demo province as an independent client sees it ---------------

    def test_demo_province_in_ldap(self):
        r = service_search(self.h, "(objectClass=inetOrgPerson)", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(dns(r.stdout)), USERS + len(self.admins))
        units = dns(service_search(self.h, "(objectClass=homthuUnit)", "ou").stdout)
        self.assertEqual(len(units), 220)
        self.assertIn("ou=xa-tan-cuong,ou=tp-thai-nguyen,ou=units," + BASE, units)
        toantinh = service_search(self.h, "(mail=toantinh@thainguyen.gov.vn)", "member").stdout
        self.assertEqual(toantinh.count("member: "), USERS)
        # Display names keep their diacritics (base64 in LDIF, UTF-8 in LDAP).
        a = self.h.accounts[0]
        r = service_search(self.h, "(uid=%s)" % a["id"], "displayName")
        line = next(l for l in r.stdout.splitlines() if l.startswith("displayName"))
        import base64
        value = base64.b64decode(line.split(":: ")[1]).decode() if ":: " in line else line.split(": ", 1)[1]
        self.assertEqual(value, a["name"])
        self.assertTrue(any(ord(c) > 127 for acc in self.h.accounts for c in acc["name"]))

    def test_passwords_are_argon2_and_slapd_verifies_them(self):
        a = self.h.accounts[1]
        r = ldap(self.h, "ldapsearch", "-b", BASE, "(uid=%s)" % a["id"], "userPassword",
                 bind_dn=self.h.ldap_env["HOMTHU_LDAP_ADMIN_DN"],
                 secret_file=self.h.ldap_env["HOMTHU_LDAP_ADMIN_PASSWORD_FILE"])
        self.assertEqual(r.returncode, 0, r.stderr)
        import base64
        line = next(l for l in r.stdout.splitlines() if l.startswith("userPassword"))
        value = base64.b64decode(line.split(":: ")[1]).decode() if ":: " in line else line.split(": ", 1)[1]
        self.assertTrue(value.startswith("{ARGON2}$argon2id$v=19$m=19456,t=2,p=1$"), value)
        dn = dns(service_search(self.h, "(uid=%s)" % a["id"], "1.1").stdout)[0]
        ok = ldap(self.h, "ldapwhoami", bind_dn=dn, password=self.h.password)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = ldap(self.h, "ldapwhoami", bind_dn=dn, password=self.h.password + "x")
        self.assertNotEqual(bad.returncode, 0)

    # --- homthuctl ----------------------------------------------------------

    def test_user_lifecycle(self):
        r = self.ctl("user", "add", "le.thi.hoa@thainguyen.gov.vn", "--name", "Lê Thị Hoa",
                     "--unit", "xa-tan-cuong", "--quota", "1G")
        self.assertEqual(r.returncode, 0, r.stderr)
        generated = next(l.split(": ", 1)[1] for l in r.stdout.splitlines() if l.startswith("password: "))
        self.assertEqual(self.check("le.thi.hoa@thainguyen.gov.vn", generated).returncode, 0)
        shown = json.loads(self.ctl("user", "show", "le.thi.hoa@thainguyen.gov.vn", "--format", "json").stdout)
        self.assertEqual(shown["name"], "Lê Thị Hoa")
        self.assertEqual(shown["unit"], "xa-tan-cuong")
        self.assertEqual(shown["quota"], 1 << 30)
        self.assertTrue(shown["enabled"])
        # ldapsearch sees the same entry where the unit says.
        r = service_search(self.h, "(mail=le.thi.hoa@thainguyen.gov.vn)", "1.1")
        self.assertEqual(dns(r.stdout), ["uid=le.thi.hoa,ou=xa-tan-cuong,ou=tp-thai-nguyen,ou=units," + BASE])

        dup = self.ctl("user", "add", "le.thi.hoa@thainguyen.gov.vn", "--name", "X", "--unit", "so-noi-vu")
        self.assertEqual(dup.returncode, 1)
        self.assertIn("already", dup.stderr)

        r = self.ctl("user", "passwd", "le.thi.hoa@thainguyen.gov.vn", "--password-stdin",
                     input="Mật khẩu mới 2026\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.check("le.thi.hoa@thainguyen.gov.vn", generated).returncode, 1)
        self.assertEqual(self.check("le.thi.hoa@thainguyen.gov.vn", "Mật khẩu mới 2026").returncode, 0)

        self.assertEqual(self.ctl("user", "disable", "le.thi.hoa@thainguyen.gov.vn").returncode, 0)
        r = self.check("le.thi.hoa@thainguyen.gov.vn", "Mật khẩu mới 2026")
        self.assertEqual(r.returncode, 1)
        self.assertIn("disabled", r.stderr)
        self.assertEqual(self.ctl("user", "enable", "le.thi.hoa@thainguyen.gov.vn").returncode, 0)
        self.assertEqual(self.ctl("user", "move", "le.thi.hoa@thainguyen.gov.vn", "so-y-te").returncode, 0)
        self.assertEqual(json.loads(self.ctl("user", "show", "le.thi.hoa", "--format", "json").stdout)["unit"],
                         "so-y-te")
        self.assertEqual(self.ctl("alias", "add", "le.thi.hoa@thainguyen.gov.vn", "hoa.lt@thainguyen.gov.vn").returncode, 0)
        self.assertEqual(self.check("hoa.lt@thainguyen.gov.vn", "Mật khẩu mới 2026").returncode, 1,
                         "an alias is not a login")
        self.assertEqual(self.ctl("user", "delete", "le.thi.hoa@thainguyen.gov.vn").returncode, 0)
        gone = self.ctl("user", "show", "le.thi.hoa@thainguyen.gov.vn")
        self.assertEqual(gone.returncode, 1)
        self.assertEqual(dns(service_search(self.h, "(mail=le.thi.hoa@thainguyen.gov.vn)", "1.1").stdout), [])

    def test_usage_errors_and_help(self):
        self.assertEqual(self.ctl("user", "--help").returncode, 0)
        self.assertIn("user add", self.ctl("user", "--help").stdout)
        self.assertEqual(self.ctl("user", "add", "x@thainguyen.gov.vn").returncode, 2)
        self.assertEqual(self.ctl("user", "frobnicate").returncode, 2)
        self.assertEqual(self.ctl("unit", "list", "--format", "xml").returncode, 2)
        self.assertEqual(self.ctl("import", "--help").returncode, 0)

    def test_listings(self):
        r = self.ctl("user", "list", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.strip().splitlines()
        self.assertEqual(lines[0].strip(), "address,name,unit,quota,enabled")
        addresses = {l.split(",")[0] for l in lines[1:]}
        self.assertTrue({a["address"] for a in self.h.accounts} <= addresses)
        units = json.loads(self.ctl("unit", "list", "--format", "json").stdout)
        self.assertEqual(len(units), 220)
        by_id = {u["id"]: u for u in units}
        self.assertEqual(by_id["so-noi-vu"]["name"], "Sở Nội vụ")
        self.assertEqual(by_id["xa-tan-cuong"]["parent"], "tp-thai-nguyen")
        # Other tests add accounts: compare with what ldapsearch counts now.
        people = dns(service_search(self.h, "(objectClass=inetOrgPerson)", "1.1").stdout)
        self.assertEqual(sum(u["accounts"] for u in units), len(people))
        one = self.h.accounts[2]
        in_unit = json.loads(self.ctl("user", "list", "--unit", one["unit"], "--format", "json").stdout)
        self.assertIn(one["address"], [a["address"] for a in in_unit])
        self.assertTrue(all(a["unit"] == one["unit"] for a in in_unit))

    def test_lists(self):
        a, b = self.h.accounts[3], self.h.accounts[4]
        self.assertEqual(self.ctl("list", "add", "ban.bien.tap@thainguyen.gov.vn", "--name", "Ban biên tập",
                                  "--unit", "so-noi-vu", "--policy", "members").returncode, 0)
        for m in (a, b):
            r = self.ctl("list", "member-add", "ban.bien.tap@thainguyen.gov.vn", m["address"])
            self.assertEqual(r.returncode, 0, r.stderr)
        shown = json.loads(self.ctl("list", "show", "ban.bien.tap@thainguyen.gov.vn", "--format", "json").stdout)
        self.assertEqual(sorted(shown["members"]), sorted([a["address"], b["address"]]))
        self.assertEqual(shown["policy"], "members")
        self.assertEqual(shown["name"], "Ban biên tập")
        self.assertEqual(self.ctl("list", "member-remove", "ban.bien.tap@thainguyen.gov.vn", a["address"]).returncode, 0)
        shown = json.loads(self.ctl("list", "show", "ban.bien.tap@thainguyen.gov.vn", "--format", "json").stdout)
        self.assertEqual(shown["members"], [b["address"]])
        whole = json.loads(self.ctl("list", "show", "toantinh@thainguyen.gov.vn", "--format", "json").stdout)
        self.assertEqual(len(whole["members"]), USERS)
        self.assertEqual(self.ctl("list", "delete", "ban.bien.tap@thainguyen.gov.vn").returncode, 0)

    def test_app_passwords(self):
        a = self.h.accounts[5]
        r = self.ctl("apppass", "add", a["address"], "--label", "Phần mềm một cửa", "--smtp-only")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = dict(l.split(": ", 1) for l in r.stdout.splitlines() if ": " in l)
        pw, ident = fields["password"], fields["id"]
        ok = self.check(a["address"], pw, "smtp")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("Phần mềm một cửa", ok.stdout)
        self.assertEqual(self.check(a["address"], pw, "imap").returncode, 1)
        listed = json.loads(self.ctl("apppass", "list", a["address"], "--format", "json").stdout)
        self.assertEqual([(x["id"], x["label"], x["smtp_only"]) for x in listed], [(ident, "Phần mềm một cửa", True)])
        # The hash is Argon2id; the clear password is nowhere in LDAP.
        raw = ldap(self.h, "ldapsearch", "-b", BASE, "(uid=%s)" % a["id"], "homthuAppPassword",
                   bind_dn=self.h.ldap_env["HOMTHU_LDAP_ADMIN_DN"],
                   secret_file=self.h.ldap_env["HOMTHU_LDAP_ADMIN_PASSWORD_FILE"]).stdout
        self.assertNotIn(pw, raw)
        self.assertEqual(self.ctl("apppass", "revoke", a["address"], ident).returncode, 0)
        self.assertEqual(self.check(a["address"], pw, "smtp").returncode, 1)
        self.assertEqual(self.check(a["address"], self.h.password, "smtp").returncode, 0)

    def test_role_limits(self):
        dai_tu = "qt.huyen-dai-tu"
        dept = self.dept_account()
        r = self.ctl("user", "disable", dept["address"], "--as", dai_tu)
        self.assertEqual(r.returncode, 1)
        self.assertIn("permission denied", r.stderr)
        r = self.ctl("user", "add", "can.bo.la.bang@thainguyen.gov.vn", "--name", "Ma Văn Cán",
                     "--unit", "xa-la-bang", "--as", dai_tu)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("user", "add", "can.bo.vo.nhai@thainguyen.gov.vn", "--name", "Ma Văn Cán",
                     "--unit", "xa-la-hien", "--as", dai_tu)
        self.assertEqual(r.returncode, 1)
        # A commune administrator is refused on another commune's account.
        self.assertEqual(self.ctl("user", "role", "can.bo.la.bang@thainguyen.gov.vn", "unit-admin",
                                  "--unit", "xa-la-bang").returncode, 0)
        other = self.ctl("user", "add", "thu.ky.ban.ngoai@thainguyen.gov.vn", "--name", "Hà Thị Thư",
                         "--unit", "xa-ban-ngoai")
        self.assertEqual(other.returncode, 0, other.stderr)
        r = self.ctl("user", "disable", "thu.ky.ban.ngoai@thainguyen.gov.vn", "--as", "can.bo.la.bang")
        self.assertEqual(r.returncode, 1)
        self.assertIn("permission denied", r.stderr)
        self.assertEqual(self.ctl("user", "role", dept["address"], "province-admin",
                                  "--as", "can.bo.la.bang").returncode, 1)
        mine = json.loads(self.ctl("user", "list", "--format", "json", "--as", "can.bo.la.bang").stdout)
        self.assertEqual({a["unit"] for a in mine}, {"xa-la-bang"})
        # The auditor sees everything, changes nothing.
        everyone = json.loads(self.ctl("user", "list", "--format", "json", "--as", "giamsat").stdout)
        self.assertGreaterEqual(len(everyone), USERS)
        r = self.ctl("user", "disable", dept["address"], "--as", "giamsat")
        self.assertEqual(r.returncode, 1)
        self.assertIn("read-only", r.stderr)
        # The province administrator may do it.
        self.assertEqual(self.ctl("user", "disable", dept["address"], "--as", "admin").returncode, 0)
        self.assertEqual(self.ctl("user", "enable", dept["address"], "--as", "admin").returncode, 0)

    def test_injection_attempts_fail_safely(self):
        hostile = ["*", "a)(uid=*", "*)(uid=*", ")(|(objectClass=*))", "admin*", "x\\00", "*@thainguyen.gov.vn",
                   "a" * 10000]
        for h in hostile:
            r = self.check(h, self.h.password)
            self.assertEqual(r.returncode, 1, h)
            self.assertIn("invalid credentials", r.stderr, h)
            r = self.ctl("user", "show", h)
            self.assertEqual(r.returncode, 1, h)
        r = self.ctl("user", "list", "--search", "*)(uid=*", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [])
        r = self.ctl("user", "add", "x,ou=services@thainguyen.gov.vn", "--name", "X", "--unit", "so-noi-vu")
        self.assertEqual(r.returncode, 1)
        r = self.ctl("user", "add", "ok.name@thainguyen.gov.vn", "--name", "X\nY", "--unit", "so-noi-vu")
        self.assertEqual(r.returncode, 1)
        # slapd's content is intact.
        self.assertEqual(len(dns(service_search(self.h, "(cn=homthud)", "1.1").stdout)), 1)

    def test_import(self):
        tmp = tempfile.mkdtemp(prefix="homthu-import-", dir=self.h.data_dir)
        bad = os.path.join(tmp, "bad.csv")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("address,full name,unit,quota,password\n"
                    "nhap.mot@thainguyen.gov.vn,Trần Văn Một,so-tu-phap,2G,generate\n"
                    "nhap.hai@example.com,Lê Hai,so-tu-phap,,\n"
                    "nhap.ba@thainguyen.gov.vn,Phạm Ba,khong-ton-tai,,\n")
        r = self.ctl("import", bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("row 3: address", r.stderr)
        self.assertIn("row 4: unit", r.stderr)
        self.assertEqual(self.ctl("user", "show", "nhap.mot@thainguyen.gov.vn").returncode, 1, "nothing written")

        good = os.path.join(tmp, "good.csv")
        with open(good, "w", encoding="utf-8") as f:
            f.write("\ufeffaddress,name,unit,quota,password\r\n"
                    "nhap.mot@thainguyen.gov.vn,\"Trần Văn Một\",so-tu-phap,2G,generate\r\n"
                    "nhap.hai@thainguyen.gov.vn,\"Lê Thị Hai, phó phòng\",xa-tan-cuong,,Mật khẩu ban đầu 1\r\n")
        r = self.ctl("import", good, "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2 to create", r.stdout)
        self.assertEqual(self.ctl("user", "show", "nhap.mot@thainguyen.gov.vn").returncode, 1, "dry run")
        r = self.ctl("import", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2 created", r.stdout)
        with open(good + ".result.csv", encoding="utf-8") as f:
            result = [l.strip().split(",") for l in f if l.strip()]
        self.assertEqual(result[0], ["address", "password"])
        self.assertEqual([x[0] for x in result[1:]], ["nhap.mot@thainguyen.gov.vn"])
        self.assertEqual(self.check("nhap.mot@thainguyen.gov.vn", result[1][1]).returncode, 0)
        self.assertEqual(self.check("nhap.hai@thainguyen.gov.vn", "Mật khẩu ban đầu 1").returncode, 0)
        shown = json.loads(self.ctl("user", "show", "nhap.hai@thainguyen.gov.vn", "--format", "json").stdout)
        self.assertEqual(shown["name"], "Lê Thị Hai, phó phòng")
        # Re-running updates instead of duplicating, and keeps generated passwords.
        r = self.ctl("import", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 created, 2 updated", r.stdout)
        self.assertEqual(self.check("nhap.mot@thainguyen.gov.vn", result[1][1]).returncode, 0)
        self.assertEqual(len(dns(service_search(self.h, "(mail=nhap.mot@thainguyen.gov.vn)", "1.1").stdout)), 1)


class DirectoryOutageTest(unittest.TestCase):
    def test_slapd_stopped_and_restarted(self):
        with Homthu(users=20) as h:
            a = h.accounts[0]
            ok = h.ctl("user", "show", a["address"])
            self.assertEqual(ok.returncode, 0, ok.stderr)
            h.stop_slapd()
            r = h.ctl("user", "show", a["address"])
            self.assertEqual(r.returncode, 3, "temporary failure, not 'no such account'")
            self.assertIn("unavailable", r.stderr)
            r = h.ctl("user", "check", a["address"], "--password-stdin", input=h.password + "\n")
            self.assertEqual(r.returncode, 3)
            self.assertIsNone(h.proc.poll(), "homthud keeps running without slapd")
            h.start_slapd()
            r = h.ctl("user", "show", a["address"])
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_homthud_starts_while_slapd_is_down(self):
        h = Homthu(users=5)
        try:
            h.start()
            h.stop_homthud()
            h.stop_slapd()
            h.start_homthud()  # waits for its ports: startup must not need slapd
            self.assertIsNone(h.proc.poll())
            h.start_slapd()
            r = h.ctl("user", "show", h.accounts[0]["address"])
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            h.stop()


if __name__ == "__main__":
    unittest.main()
