"""A small HTTPS client for the admin REST API, used by the admin
integration tests: keeps the session cookie and CSRF token like the
console does, and exposes status, headers and JSON of every answer."""

import base64
import hashlib
import hmac
import http.client
import json
import struct
import time


def totp(secret_b32, at=None):
    """RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at Unix time
    `at` (now by default): what an authenticator app shows."""
    key = base64.b32decode(secret_b32.replace(" ", "") + "=" * (-len(secret_b32.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % value


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Admin:
    def __init__(self, h):
        self.h = h
        self.cookie = None
        self.csrf = None
        self.token = None

    def request(self, method, path, body=None, headers=None, csrf=True, raw=None, content_type=None):
        conn = http.client.HTTPSConnection(self.h.host, self.h.port("admin"), context=self.h.ssl_context(), timeout=60)
        hdrs = {"Host": "localhost:%d" % self.h.port("admin")}
        payload = None
        if raw is not None:
            payload = raw
            hdrs["Content-Type"] = content_type or "text/csv"
        elif body is not None:
            payload = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if self.cookie:
            hdrs["Cookie"] = "__Host-homthu=" + self.cookie
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if csrf and self.csrf and method != "GET":
            hdrs["X-CSRF-Token"] = self.csrf
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=payload, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def sign_in(self, login, password, code=None):
        body = {"login": login, "password": password}
        if code is not None:
            body["code"] = code
        r = self.request("POST", "/api/v1/session", body)
        if r.status == 200:
            cookie = r.header("Set-Cookie")
            self.cookie = cookie.split(";", 1)[0].split("=", 1)[1]
            self.csrf = r.json()["csrf"]
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {}, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)
