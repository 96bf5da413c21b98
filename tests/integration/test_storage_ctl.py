"""homthuctl storage commands against a real store: import-mail, export
(mbox and Maildir), fsck, purge. Needs no daemon or slapd: the commands open
the store named by the config file, as an operator would on a stopped or
running server."""

import os
import sqlite3
import subprocess
import tempfile
import unittest

BIN = os.environ.get("HOMTHU_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))

MBOX = (
    "From someone Mon Jun  2 08:00:00 2025\n"
    "From: =?UTF-8?Q?V=C4=83n_th=C6=B0?= <vanthu@thainguyen.gov.vn>\n"
    "Subject: first\n"
    "\n"
    "Kinh gui\n"
    ">From a quoted line\n"
    "\n"
    "From someone Mon Jun  2 08:01:00 2025\n"
    "From: b@thainguyen.gov.vn\n"
    "Subject: second\n"
    "\n"
    "second body\n"
    "\n"
)


class StorageCtl(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="homthu-ctl-")
        self.root = self.dir.name
        self.config = os.path.join(self.root, "homthu.toml")
        with open(self.config, "w") as f:
            f.write('[server]\ndata_dir = "%s"\ndomains = ["thainguyen.gov.vn"]\n' % os.path.join(self.root, "data"))

    def tearDown(self):
        self.dir.cleanup()

    def ctl(self, *args):
        return subprocess.run([os.path.join(BIN, "homthuctl"), "--config", self.config, *args],
                              capture_output=True, text=True, timeout=120)

    def test_mbox_round_trip_and_fsck(self):
        src = os.path.join(self.root, "in.mbox")
        with open(src, "w") as f:
            f.write(MBOX)
        r = self.ctl("import-mail", "an", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("imported 2 messages", r.stdout)
        out = os.path.join(self.root, "out")
        r = self.ctl("export", "an", "--format", "mbox", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "INBOX.mbox")) as f:
            exported = f.read()
        # Same messages, same bodies, mboxrd quoting kept, only the From_
        # lines differ.
        strip = lambda t: [l for l in t.splitlines() if not l.startswith("From ")]
        self.assertEqual(strip(exported), strip(MBOX))
        r = self.ctl("fsck")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("fsck: clean", r.stdout)

    def test_maildir_export_import_keeps_flags_and_folders(self):
        src = os.path.join(self.root, "md-in")
        for sub in ("cur", "new", "tmp", ".Projects.2025/cur", ".Projects.2025/new", ".Projects.2025/tmp"):
            os.makedirs(os.path.join(src, sub))
        with open(os.path.join(src, "cur", "1.a:2,FS"), "w") as f:
            f.write("Subject: flagged\n\nbody\n")
        with open(os.path.join(src, ".Projects.2025", "new", "2.b"), "w") as f:
            f.write("Subject: in a folder\n\nbody\n")
        r = self.ctl("import-mail", "binh", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("imported 2 messages", r.stdout)
        out = os.path.join(self.root, "md-out")
        r = self.ctl("export", "binh", "--format", "maildir", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        inbox = os.listdir(os.path.join(out, "cur"))
        self.assertEqual(len(inbox), 1)
        self.assertTrue(inbox[0].endswith(":2,FS"), inbox)
        with open(os.path.join(out, "cur", inbox[0]), "rb") as f:
            self.assertEqual(f.read(), b"Subject: flagged\r\n\r\nbody\r\n")
        self.assertEqual(len(os.listdir(os.path.join(out, ".Projects.2025", "cur"))), 1)

    def test_purge_removes_account_mail(self):
        src = os.path.join(self.root, "in.mbox")
        with open(src, "w") as f:
            f.write(MBOX)
        self.assertEqual(self.ctl("import-mail", "an", src).returncode, 0)
        r = self.ctl("purge", "an")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2 blobs", r.stdout)
        blobs = os.path.join(self.root, "data", "mail", "blobs")
        files = [n for _, _, fs in os.walk(blobs) for n in fs]
        self.assertEqual(files, [])
        self.assertEqual(self.ctl("purge", "an").returncode, 1)
        self.assertIn("fsck: clean", self.ctl("fsck").stdout)

    def test_gc_says_when_search_entries_stay(self):
        src = os.path.join(self.root, "in.mbox")
        with open(src, "w") as f:
            f.write(MBOX)
        self.assertEqual(self.ctl("import-mail", "an", src).returncode, 0)
        r = self.ctl("gc")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed 0 blobs", r.stdout)
        self.assertNotIn("could not be read", r.stdout)
        # Both messages indexed, then removed, and their content lost before
        # garbage collection could read it again.
        db = sqlite3.connect(os.path.join(self.root, "data", "mail", "mail.db"))
        with db:
            db.execute("DELETE FROM fts_pending")
            db.execute("DELETE FROM blob_content")
            db.execute("DELETE FROM messages")
            db.execute("UPDATE blobs SET refcount = 0")
        db.close()
        r = self.ctl("gc")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed 2 blobs", r.stdout)
        self.assertIn("2 removed messages could not be read again", r.stdout)

    def test_usage_errors(self):
        self.assertEqual(self.ctl("export", "an").returncode, 2)
        self.assertEqual(self.ctl("export", "an", "--format", "zip", "--out", "x").returncode, 2)
        self.assertEqual(self.ctl("import-mail").returncode, 2)
        self.assertEqual(self.ctl("fsck", "--bogus").returncode, 2)


if __name__ == "__main__":
    unittest.main()
