"""The delivery log end to end: mail sent with Python's smtplib to a local
account, to a list, to outside addresses that a
loopback aiosmtpd server accepts, refuses (bounce) or defers, and to an
unknown local user; then "where did my mail go" through the REST API, each
hop asserted; a unit administrator sees only rows about their district; the
mail-flow statistics count what was sent; the queue page shows a deferred
message's header fields and last error."""

import smtplib
import time
import unittest
import urllib.parse
import uuid

from admin_client import Admin
from harness import Homthu
from test_smtp import Sink

q = urllib.parse.quote


def message(sender, rcpt, subject, mid, body="Kinh gui.\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\n%s"
            % (sender, rcpt, subject, mid, body)).encode()


def new_mid():
    return "%s@dlog.test" % uuid.uuid4().hex


class DeliveryLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.sink.controller.start()
        cls.h = Homthu(users=60, config_extra='[smtp]\nrelayhost = "127.0.0.1:%d"\n' % cls.sink.port)
        cls.h.start()
        cls.admin = Admin(cls.h)
        r = cls.admin.sign_in("admin@thainguyen.gov.vn", cls.h.password)
        assert r.status == 200, r.body
        units = {u["id"]: u for u in cls.admin.get("/api/v1/units").json()["units"]}

        def district_of(unit):
            for _ in range(10):
                if not unit:
                    return None
                if units[unit]["kind"] == "district":
                    return unit
                unit = units[unit]["parent"]
            return None

        by_district = {}
        for a in cls.h.accounts:
            d = district_of(a["unit"])
            if d:
                by_district.setdefault(d, []).append(a)
        ds = sorted(by_district, key=lambda d: -len(by_district[d]))
        cls.d_own, cls.d_other = ds[0], ds[1]
        assert len(by_district[cls.d_own]) >= 2 and len(by_district[cls.d_other]) >= 2, by_district
        cls.own1, cls.own2 = by_district[cls.d_own][:2]
        cls.other1, cls.other2 = by_district[cls.d_other][:2]
        # A list reaching one account in each district (the API takes
        # accounts and lists as members, not outside addresses).
        r = cls.admin.post("/api/v1/lists", {"address": "dlog-list", "name": "Danh sách", "unit": "",
                                             "policy": "anyone"})
        assert r.status == 201, r.body
        cls.list_address = r.json()["address"]
        for m in (cls.own1["address"], cls.other1["address"]):
            r = cls.admin.post("/api/v1/lists/dlog-list/members", {"member": m})
            assert r.status == 201, r.body

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.sink.controller.stop()

    # --- helpers ------------------------------------------------------------------

    def submit(self, sender, rcpts, msg):
        with smtplib.SMTP_SSL(self.h.host, self.h.port("smtps"), context=self.h.ssl_context(), timeout=30) as s:
            s.login(sender["address"], self.h.password)
            return s.sendmail(sender["address"], rcpts, msg)

    def search(self, client=None, **params):
        r = (client or self.admin).get("/api/v1/delivery-log?" + urllib.parse.urlencode(params))
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def hops(self, mid, want, client=None, timeout=30):
        """Polls until the message with Message-ID `mid` shows every kind in
        `want`; returns its events."""
        deadline = time.monotonic() + timeout
        events = []
        while time.monotonic() < deadline:
            got = self.search(client, message_id=mid)["messages"]
            events = [e for m in got for e in m["events"]]
            if all(any(e["kind"] == k for e in events) for k in want):
                return events
            time.sleep(0.2)
        self.fail("hops %s not all logged for %s: %s\n%s" % (want, mid, events, self.h.log_text()[-2000:]))

    @staticmethod
    def one(events, kind, recipient):
        found = [e for e in events if e["kind"] == kind and e["recipient"] == recipient]
        assert len(found) == 1, (kind, recipient, events)
        return found[0]

    # --- tests ----------------------------------------------------------------------

    def test_local_delivery_hops(self):
        mid = new_mid()
        a, b = self.own1, self.own2
        self.assertEqual(self.submit(a, [b["address"]], message(a["address"], b["address"], "Giay moi", mid)), {})
        events = self.hops(mid, ["received", "delivered"])
        rec = self.one(events, "received", b["address"])
        self.assertEqual(rec["client"], "127.0.0.1")
        self.assertEqual(rec["user"], a["id"])
        self.assertEqual(rec["listener"], "smtps")
        self.assertTrue(rec["reply"].startswith("250 2.0.0"), rec)
        d = self.one(events, "delivered", b["address"])
        self.assertEqual(d["via"], "")
        self.assertGreater(d["time_ms"], 0)
        # The same message is found by sender, by recipient and by time.
        got = self.search(sender=a["address"].upper(), recipient=b["address"])
        self.assertIn(mid, [m["message_id"] for m in got["messages"]])
        since = rec["time_ms"] - 1
        got = self.search(sender=a["address"], since=since, until=since + 120000)
        self.assertIn(mid, [m["message_id"] for m in got["messages"]])
        got = self.search(sender=a["address"], until=since)
        self.assertNotIn(mid, [m["message_id"] for m in got["messages"]])

    def test_list_expansion(self):
        mid = new_mid()
        outsider = "ban-ngoai@example.net"
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.sendmail(outsider, [self.list_address], message(outsider, self.list_address, "Thong bao", mid))
        events = self.hops(mid, ["received", "expanded", "delivered"])
        rec = self.one(events, "received", self.list_address)
        self.assertEqual(rec["listener"], "smtp")
        self.assertEqual(rec["user"], "")
        x = self.one(events, "expanded", self.list_address)
        self.assertIn("2 members", x["detail"])
        for acct in (self.own1, self.other1):
            self.assertEqual(self.one(events, "delivered", acct["address"])["via"], self.list_address)
        # Every hop is under one transaction.
        got = self.search(message_id=mid)["messages"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["sender"], outsider)

        # A unit administrator sees the rows about their district only.
        c = Admin(self.h)
        self.assertEqual(c.sign_in("qt.%s@thainguyen.gov.vn" % self.d_own, self.h.password).status, 200)
        mine = [e for m in self.search(c, message_id=mid)["messages"] for e in m["events"]]
        self.assertTrue(mine)
        self.assertTrue(all(e["recipient"] == self.own1["address"] for e in mine), mine)
        self.assertEqual(self.search(c, recipient=self.other1["address"], message_id=mid)["messages"], [])
        # An auditor sees all of it.
        aud = Admin(self.h)
        self.assertEqual(aud.sign_in("giamsat@thainguyen.gov.vn", self.h.password).status, 200)
        self.assertEqual(len([e for m in self.search(aud, message_id=mid)["messages"] for e in m["events"]]),
                         len(events))

    def test_unit_admin_cannot_see_another_district(self):
        mid = new_mid()
        a, b = self.other1, self.other2
        self.submit(a, [b["address"]], message(a["address"], b["address"], "Noi bo huyen khac", mid))
        self.hops(mid, ["received", "delivered"])  # the province administrator sees it
        c = Admin(self.h)
        self.assertEqual(c.sign_in("qt.%s@thainguyen.gov.vn" % self.d_own, self.h.password).status, 200)
        self.assertEqual(self.search(c, message_id=mid)["messages"], [])
        self.assertEqual(self.search(c, sender=a["address"])["messages"], [])
        # A plain account is not an administrator at all.
        u = Admin(self.h)
        self.assertEqual(u.sign_in(self.own2["address"], self.h.password).status, 403)

    def test_remote_bounce_and_deferral_and_queue_headers(self):
        a = self.own2
        mid = new_mid()
        rcpts = ["reject-x@example.org", "defer-y@example.org"]
        self.submit(a, rcpts, message(a["address"], "reject-x@example.org", "Se bi tra lai", mid,
                                      body="BI MAT: noi dung khong duoc hien thi.\r\n"))
        events = self.hops(mid, ["queued", "bounced", "deferred"])
        self.assertEqual(self.one(events, "queued", "reject-x@example.org")["via"], "")
        bounced = self.one(events, "bounced", "reject-x@example.org")
        self.assertIn("550", bounced["reply"])
        self.assertIn("5.1.1", bounced["detail"])
        self.assertIn("DSN to " + a["address"], bounced["detail"])
        deferred = self.one(events, "deferred", "defer-y@example.org")
        self.assertIn("451", deferred["reply"])
        self.assertGreater(deferred["next_attempt_ms"], deferred["time_ms"])
        self.assertEqual(deferred["remote"], "127.0.0.1")
        queue_id = deferred["queue_id"]
        self.assertGreater(queue_id, 0)

        # The queue page: header fields and the last error, never the body.
        r = self.admin.get("/api/v1/queue/%d" % queue_id)
        self.assertEqual(r.status, 200, r.body)
        m = r.json()
        names = {n.lower(): v for n, v in m["headers"]}
        self.assertEqual(names["message-id"], "<%s>" % mid)
        self.assertEqual(names["subject"], "Se bi tra lai")
        self.assertIn("received", names)
        self.assertNotIn("BI MAT", r.body.decode())
        self.assertEqual(m["last_error"]["recipient"], "defer-y@example.org")
        self.assertIn("451", m["last_error"]["reply"])
        self.assertEqual(self.admin.get("/api/v1/queue/999999").status, 404)
        self.assertEqual(self.admin.post("/api/v1/queue/999999/retry").status, 404)
        self.assertEqual(self.admin.delete("/api/v1/queue/999999").status, 404)
        c = Admin(self.h)
        self.assertEqual(c.sign_in("qt.%s@thainguyen.gov.vn" % self.d_own, self.h.password).status, 200)
        self.assertEqual(c.get("/api/v1/queue/%d" % queue_id).status, 403)

    def test_rejected_recipient_is_logged(self):
        outsider = "nguoi-la@example.net"
        nobody = "khong-ton-tai-%s@thainguyen.gov.vn" % uuid.uuid4().hex[:6]
        with smtplib.SMTP(self.h.host, self.h.port("smtp"), timeout=30) as s:
            s.ehlo("outside.example")
            self.assertEqual(s.mail(outsider)[0], 250)
            code, _ = s.rcpt(nobody)
            self.assertEqual(code, 550)
            s.rset()
        deadline = time.monotonic() + 30
        got = []
        while time.monotonic() < deadline and not got:
            got = self.search(recipient=nobody)["messages"]
            time.sleep(0.2)
        self.assertEqual(len(got), 1, got)
        e = got[0]["events"][0]
        self.assertEqual(e["kind"], "rejected")
        self.assertTrue(e["reply"].startswith("550 5.1.1"), e)
        self.assertEqual(e["client"], "127.0.0.1")
        self.assertEqual(got[0]["sender"], outsider)

    def test_mail_flow_counts(self):
        def totals(rng):
            r = self.admin.get("/api/v1/stats/mail-flow?range=%s&tz_offset=420" % rng)
            self.assertEqual(r.status, 200, r.body)
            b = r.json()["buckets"]
            self.assertEqual(len(b), 24 if rng == "24h" else 7)
            return {k: sum(x[k] for x in b) for k in ("received", "delivered", "relayed", "deferred", "bounced")}

        before_day, before_week = totals("24h"), totals("7d")
        a, b = self.own1, self.own2
        mid_local, mid_out = new_mid(), new_mid()
        self.submit(a, [b["address"]], message(a["address"], b["address"], "Dem 1", mid_local))
        self.submit(a, ["partner@example.org"], message(a["address"], "partner@example.org", "Dem 2", mid_out))
        self.hops(mid_local, ["delivered"])
        events = self.hops(mid_out, ["queued", "relayed"])
        relayed = self.one(events, "relayed", "partner@example.org")
        self.assertEqual(relayed["remote"], "127.0.0.1")
        self.assertIn("250", relayed["reply"])
        self.assertTrue(any(mid_out.encode() in m[2] for m in self.sink.messages))
        after_day, after_week = totals("24h"), totals("7d")
        for before, after in ((before_day, after_day), (before_week, after_week)):
            self.assertEqual(after["received"] - before["received"], 2)
            self.assertEqual(after["delivered"] - before["delivered"], 1)
            self.assertEqual(after["relayed"] - before["relayed"], 1)
            self.assertEqual(after["bounced"] - before["bounced"], 0)
        self.assertEqual(self.admin.get("/api/v1/stats/mail-flow?range=1y").status, 400)
        self.assertEqual(self.admin.get("/api/v1/stats/mail-flow?range=24h&tz_offset=9999").status, 400)
        # Unit administrators get counts too, of their district's mail.
        c = Admin(self.h)
        self.assertEqual(c.sign_in("qt.%s@thainguyen.gov.vn" % self.d_own, self.h.password).status, 200)
        self.assertEqual(c.get("/api/v1/stats/mail-flow?range=7d").status, 200)

    def test_paging_and_bad_parameters(self):
        a, b = self.own1, self.own2
        tag = uuid.uuid4().hex[:6]
        mids = [new_mid() for _ in range(3)]
        for i, mid in enumerate(mids):
            self.submit(a, [b["address"]], message(a["address"], b["address"], "Trang %s %d" % (tag, i), mid))
        for mid in mids:
            self.hops(mid, ["delivered"])
        seen, cursor, pages = [], None, 0
        while True:
            params = {"sender": a["address"], "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = self.search(**params)
            pages += 1
            self.assertLessEqual(len(page["messages"]), 2)
            seen += [m["trace"] for m in page["messages"]]
            cursor = page["next_cursor"]
            if not cursor or pages > 50:
                break
        self.assertEqual(len(seen), len(set(seen)), "a message shown twice")
        found = [m for m in mids if any(m == x["message_id"] for x in self.search(sender=a["address"], limit=200)["messages"])]
        self.assertEqual(found, mids)
        self.assertGreaterEqual(pages, 2)
        for bad in ("limit=abc", "since=-1", "cursor=x", "sender=%01"):
            self.assertEqual(self.admin.get("/api/v1/delivery-log?" + bad).status, 400, bad)
        self.assertEqual(Admin(self.h).get("/api/v1/delivery-log").status, 401)


if __name__ == "__main__":
    unittest.main()
