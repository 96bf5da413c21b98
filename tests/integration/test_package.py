"""The Debian package: CPack builds homthu_<version>_amd64.deb from the
build tree, lintian (Debian's own checker) finds no errors, and the package
holds what an operator installs it for."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

BUILD = pathlib.Path(os.environ.get("HOMTHU_BIN", "../../build/bin")).resolve().parent


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="homthu-deb-")
        r = subprocess.run(["cpack", "--config", str(BUILD / "CPackConfig.cmake"), "-B", cls.tmp],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = list(pathlib.Path(cls.tmp).glob("homthu_*_amd64.deb"))
        if len(debs) != 1:
            raise AssertionError(f"expected one homthu_<version>_amd64.deb, found {debs}")
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dpkg_deb(self, *args):
        return subprocess.run(["dpkg-deb", *args, str(self.deb)], capture_output=True,
                              text=True, check=True).stdout

    def test_contents(self):
        files = {line.split()[-1].lstrip(".") for line in self.dpkg_deb("-c").splitlines()}
        for path in ["/usr/bin/homthud", "/usr/bin/homthuctl",
                     "/usr/lib/systemd/system/homthu.service",
                     "/etc/homthu/homthu.toml",
                     "/usr/share/homthu/ldap/homthu-schema.ldif",
                     "/usr/share/man/man8/homthud.8.gz", "/usr/share/man/man8/homthuctl.8.gz",
                     "/usr/share/doc/homthu/copyright"]:
            self.assertIn(path, files)
        fields = subprocess.run(["dpkg-deb", "-f", str(self.deb), "Package", "Architecture"],
                                capture_output=True, text=True, check=True).stdout
        self.assertIn("Package: homthu", fields)
        self.assertIn("Architecture: amd64", fields)

    def test_config_is_a_conffile_and_unit_is_hardened(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["dpkg-deb", "-R", str(self.deb), d], check=True)
            conffiles = pathlib.Path(d, "DEBIAN/conffiles").read_text().split()
            self.assertIn("/etc/homthu/homthu.toml", conffiles)
            unit = next(pathlib.Path(d).glob("**/systemd/system/homthu.service")).read_text()
            for directive in ["User=homthu", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                              "ProtectSystem=strict", "PrivateTmp=", "NoNewPrivileges=yes"]:
                self.assertIn(directive, unit)
            example = pathlib.Path(d, "etc/homthu/homthu.toml").read_text()
            self.assertIn("[smtp]", example)
            self.assertIn("[imap]", example)

    def test_lintian_reports_no_errors(self):
        self.assertIsNotNone(shutil.which("lintian"), "lintian is not installed (packaging/install-deps.sh installs it)")
        r = subprocess.run(["lintian", "--allow-root", "--tag-display-limit", "0", str(self.deb)],
                           capture_output=True, text=True, timeout=300)
        errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
