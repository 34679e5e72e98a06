#!/usr/bin/env python3
"""Abuse tests of the clinic server: the real `aftercare serve` on a loopback port, treated the way an attacker or
a broken client would treat it.

Oversized bodies, URLs and headers; slow clients (slowloris) while others are answered; invalid UTF-8 in bodies
and query strings; SQL injection in every field of every JSON body and every query parameter (never a 5xx, the
database holds exactly the expected rows); path traversal on the static files; token guessing against the rate
limit; thousands of connections at once (the server keeps answering, and afterwards has the same open file
descriptors and no more than a stated growth of memory); more connections than the descriptor limit allows.

The database is a fresh SQLite file (the row checks read it directly). The binary is AFTERCARE_BINARY (CTest sets
it) or build-server's. Linux only (/proc).
"""
import contextlib
import datetime
import http.client
import json
import os
import random
import resource
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from api_test import BINARY, Server, call, iso  # noqa: E402  (the same server harness as the API tests)

# The limits these tests check (docs/security.md states them).
MAX_BODY = 65536                   # --max-body default: 413 above
HARD_BODY = 1 << 20                # the connection is closed above max(4 x max-body, 1 MiB)
MAX_HEADER = 8192                  # --max-header default: URL and each header value
CONNECTIONS = 2000                 # sockets held open at once
PROMPT = 2.0                       # seconds: "answered promptly" on a busy 2-core machine
RSS_GROWTH = 16 * 1024 * 1024      # bytes: RSS after a second round of CONNECTIONS over the first (after warm-up)
SLOW_TIMEOUT = 3                   # --timeout of the slowloris server

SQL_INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE procedure_record; --",
    "Robert'); DROP TABLE clinic;--",
    "\" OR \"\"=\"",
    "1; DELETE FROM patient",
    "' UNION SELECT token_hash, 1, 1 FROM api_token --",
    "%' OR 1=1 --",
    "' || (SELECT sqlite_version()) || '",
    "$$; DROP TABLE staff; $$",
    "1' AND pg_sleep(5)--",
    "\\'; UPDATE procedure_record SET zone = 'UTC'; --",
    "admin'--",
    "*/ OR /* ",
]

BAD_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ab\xe2\x82", b"\x80"]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def raise_nofile(wanted):
    """Raises this process's open-file limit (inherited by the servers it starts); False if it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return True
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(wanted, soft), max(hard, wanted)))
    except (ValueError, OSError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return False
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= wanted


def raw(port, data, timeout=10.0, read_all=True):
    """Sends bytes on a fresh connection; returns what came back (b"" if the server closed without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close while we still send (oversize)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_all:
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def status_of(answer):
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else None


def timed_get(base, path, token=None):
    started = time.monotonic()
    status, _, _ = call(base, "GET", path, token=token)
    return status, time.monotonic() - started


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def create_clinic(db, folder, name):
    out = subprocess.run([BINARY, "--json", "admin", "create-clinic", name, "--db", db], cwd=folder,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


class AbuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_nofile(CONNECTIONS + 2000)
        cls.folder = tempfile.mkdtemp(prefix="aftercare-abuse-")
        cls.db_path = os.path.join(cls.folder, "db", "a.db")
        cls.db = "sqlite:" + cls.db_path
        cls.clinic = create_clinic(cls.db, cls.folder, "Abuse Clinic")
        cls.server = Server(cls.db, cls.folder)
        cls.base, cls.port = cls.server.base, cls.server.port
        cls.token = cls.clinic["api_token"]
        now = datetime.datetime.now(datetime.timezone.utc)
        cls.now = now
        body = {"reference": "AB-1", "procedure_end": iso(now - datetime.timedelta(hours=5)), "zone": "Europe/Paris",
                "areas": ["face"], "display_name": "Ann", "contact": "ann@example.org"}
        status, _, cls.reg = call(cls.base, "POST", "/api/v1/procedures", body, cls.token)
        assert status == 201, cls.reg
        cls.pid = cls.reg["procedure"]["id"]
        cls.ptoken = cls.reg["patient_token"]

    @classmethod
    def tearDownClass(cls):
        logs = cls.server.stop_and_clean_up(cls.folder)
        assert '"level":"error"' not in logs, "the server logged an error: " + \
            next(line for line in logs.splitlines() if '"level":"error"' in line)

    def assert_up(self):
        status, seconds = timed_get(self.base, "/healthz")
        self.assertEqual(status, 200, "the server no longer answers /healthz")
        self.assertLess(seconds, PROMPT, f"/healthz took {seconds:.2f} s")

    def assert_json_error(self, result, low=400, high=499):
        code, _, body = result
        self.assertTrue(low <= code <= high, f"expected a {low}-{high}, got {code}: {body}")
        self.assertIsInstance(body, dict, f"the {code} is not a JSON error: {body!r}")
        self.assertIsInstance(body["error"]["code"], str)
        self.assertEqual(len(body["error"]["message"].splitlines()), 1, body)

    def raw_request(self, method, path, body=b"", headers=None, content_type="application/json"):
        """(status, parsed JSON or None) over a raw socket: bytes exactly as given."""
        head = f"{method} ".encode() + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        hdrs = dict(headers or {})
        if body or method == "POST":
            hdrs["Content-Type"] = content_type
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            head += f"{k}: {v}\r\n".encode()
        answer = raw(self.port, head + b"\r\n" + body)
        status = status_of(answer)
        payload = answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        return status, parsed

    # ---------------------------------------------------------------------------------------------------------
    # Sizes
    # ---------------------------------------------------------------------------------------------------------

    def test_oversized_bodies(self):
        auth = {"Authorization": "Bearer " + self.token}
        # Just above --max-body: read, refused with 413 and a JSON error.
        big = json.dumps({"reference": "X" * (MAX_BODY + 10)}).encode()
        status, body = self.raw_request("POST", b"/api/v1/procedures", big, auth)
        self.assertEqual(status, 413, f"a body of {len(big)} bytes: {status} {body}")
        self.assertEqual(body["error"]["code"], "payload_too_large")
        # Above the hard cap (1 MiB): the connection is closed without reading the rest, promptly.
        for head in [b"POST /api/v1/procedures HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(HARD_BODY * 8).encode() + b"\r\n\r\n",
                     b"POST /api/v1/procedures HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n"]:
            with self.subTest(head=head[-40:]):
                started = time.monotonic()
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(head)
                    chunked = b"chunked" in head
                    piece = (b"%x\r\n" % 65536 + b"{" * 65536 + b"\r\n") if chunked else b"{" * 65536
                    sent, closed, answer = 0, False, b""
                    try:
                        while sent < HARD_BODY * 8:
                            s.sendall(piece)
                            sent += 65536
                    except OSError:
                        closed = True
                    if not closed:
                        try:
                            answer = s.recv(65536)
                        except OSError:
                            answer = b""
                    self.assertLess(sent, HARD_BODY * 4, f"the server read {sent} bytes of an oversized body")
                    status = status_of(answer)
                    self.assertTrue(status is None or status == 413, f"oversized body answered {answer[:200]!r}")
                self.assertLess(time.monotonic() - started, 10, "closing an oversized body took too long")
        # Many small bodies just under the limit: all answered (no 5xx).
        ok = json.dumps({"reference": "R-1", "procedure_end": iso(self.now), "zone": "UTC", "areas": ["face"],
                         "display_name": "y" * 150}).encode()
        status, body = self.raw_request("POST", b"/api/v1/procedures", ok + b" " * (MAX_BODY - len(ok)), auth)
        self.assertEqual(status, 201, f"a body just under --max-body: {status} {body}")
        self.assert_up()

    def test_oversized_url_and_headers(self):
        cases = {
            "URL just over the limit": b"GET /" + b"a" * MAX_HEADER + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "query string over the limit": b"GET /api/v1/procedures?state=" + b"a" * (MAX_HEADER * 4) +
                                           b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "URL of 1 MiB": b"GET /" + b"a" * HARD_BODY + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "header value over the limit": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (MAX_HEADER + 1) +
                                           b"\r\n\r\n",
            "Authorization over the limit": b"GET /api/v1/procedures HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                            b"t" * (MAX_HEADER * 2) + b"\r\n\r\n",
            "header name of 300 bytes": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"N" * 300 + b": v\r\n\r\n",
            "200 headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                           b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n",
            "1 MiB of headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                                b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 8000) for i in range(130)) + b"\r\n",
        }
        for name, data in cases.items():
            with self.subTest(case=name):
                started = time.monotonic()
                answer = raw(self.port, data)
                status = status_of(answer)
                self.assertTrue(status is None or 400 <= status < 500, f"{name}: answered {answer[:200]!r}")
                self.assertLess(time.monotonic() - started, 5, f"{name}: the server took too long to refuse")
        # Just under the limits: answered normally.
        answer = raw(self.port, b"GET /" + b"a" * (MAX_HEADER - 100) + b" HTTP/1.1\r\nHost: x\r\nX-Ok: " +
                     b"v" * (MAX_HEADER - 100) + b"\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(answer), 404, f"a URL and header under the limit: {answer[:200]!r}")
        self.assert_up()

    # ---------------------------------------------------------------------------------------------------------
    # Slow clients
    # ---------------------------------------------------------------------------------------------------------

    def test_slowloris_is_cut_off_and_others_are_answered(self):
        server = Server(self.db, self.folder, args=["--timeout", str(SLOW_TIMEOUT)])
        slow = []
        try:
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                s.setblocking(False)
                slow.append([s, time.monotonic(), None])  # socket, opened, closed by the server at
            stop = threading.Event()

            def drip():
                # One byte of a never-ending header on every slow connection every 0.1 s.
                while not stop.is_set():
                    for entry in slow:
                        if entry[2] is not None:
                            continue
                        s = entry[0]
                        try:
                            if s.recv(4096) == b"":
                                entry[2] = time.monotonic()
                                continue
                        except BlockingIOError:
                            pass
                        except OSError:
                            entry[2] = time.monotonic()
                            continue
                        try:
                            s.send(b"a")
                        except OSError:
                            entry[2] = time.monotonic()
                    time.sleep(0.1)

            dripper = threading.Thread(target=drip)
            dripper.start()
            try:
                # Meanwhile other clients are answered promptly, staff and patients alike.
                for i in range(20):
                    path = "/healthz" if i % 2 else "/api/v1/p/" + self.ptoken + "/status"
                    status, seconds = timed_get(server.base, path)
                    self.assertEqual(status, 200, f"{path} during slowloris")
                    self.assertLess(seconds, PROMPT, f"{path} took {seconds:.2f} s during slowloris")
                    time.sleep(0.05)
                # The slow ones are closed once --timeout has passed since their request began, though they keep
                # sending: the limit is on the whole request, not between bytes.
                closed = wait_for(lambda: all(e[2] is not None for e in slow), SLOW_TIMEOUT + 5)
            finally:
                stop.set()
                dripper.join()
            self.assertTrue(closed, f"{sum(e[2] is None for e in slow)} slow connections still open after "
                                    f"{SLOW_TIMEOUT + 5} s (--timeout {SLOW_TIMEOUT})")
            held = [e[2] - e[1] for e in slow]
            self.assertGreaterEqual(min(held), SLOW_TIMEOUT - 0.5, f"cut off before --timeout: {min(held):.2f} s")
            self.assertLessEqual(max(held), SLOW_TIMEOUT + 3, f"held for {max(held):.2f} s (--timeout {SLOW_TIMEOUT})")
            self.assertEqual(timed_get(server.base, "/healthz")[0], 200)
        finally:
            for e in slow:
                e[0].close()
            self.assertEqual(server.stop(), 0)

    # ---------------------------------------------------------------------------------------------------------
    # Bad text
    # ---------------------------------------------------------------------------------------------------------

    def body_endpoints(self):
        """(path, method, a valid body, its string fields, its list fields) for every endpoint that takes JSON."""
        end = iso(self.now - datetime.timedelta(hours=1))
        p = "/api/v1/p/" + self.ptoken
        return [
            ("/api/v1/login", {"login": "nobody", "password": "wrong-password"}, None),
            ("/api/v1/procedures", {"reference": "INJ", "procedure_end": end, "zone": "UTC", "areas": ["face"],
                                    "display_name": "Inj", "contact": "inj@example.org"}, self.token),
            (f"/api/v1/procedures/{self.pid}/follow-ups",
             {"procedure_end": iso(self.now + datetime.timedelta(days=400)), "zone": "UTC", "areas": ["face"]},
             self.token),
            (p + "/ingredients", {"ingredients": ["Aqua", "Glycerin"], "at": iso(self.now)}, None),
            (p + "/symptom", {"words": "a little red", "at": iso(self.now)}, None),
        ]

    def query_endpoints(self):
        """(path, {parameter: a valid value}, token) for every endpoint that takes query parameters."""
        p = "/api/v1/p/" + self.ptoken
        return [
            ("/api/v1/procedures", {"state": "all", "limit": "5", "offset": "0"}, self.token),
            ("/api/v1/outbox", {"state": "pending", "procedure": str(self.pid), "limit": "5"}, self.token),
            (p + "/status", {"at": iso(self.now)}, None),
            (p, {"at": iso(self.now)}, None),
            (p + "/can", {"q": "can I go to the gym", "at": iso(self.now), "context": "outdoors"}, None),
            (p + "/med", {"q": "Advil", "at": iso(self.now)}, None),
        ]

    def test_invalid_utf8_in_bodies_is_a_400(self):
        for path, body, token in self.body_endpoints():
            headers = {"Authorization": "Bearer " + token} if token else {}
            for field in body:
                for bad in BAD_UTF8 + [b"\\ud800", b"\\udc00x"]:
                    text = json.dumps(dict(body, **{field: "@@"})).encode()
                    if isinstance(body[field], list):
                        text = json.dumps(dict(body, **{field: ["@@"]})).encode()
                    data = text.replace(b"@@", b"ok" + bad)
                    with self.subTest(path=path[:30], field=field, bad=bad):
                        status, parsed = self.raw_request("POST", path.encode(), data, headers)
                        self.assertEqual(status, 400, f"{path} {field}={bad!r}: {status} {parsed}")
                        self.assertEqual(parsed["error"]["code"], "invalid_json", parsed)
            # Invalid UTF-8 as a member name.
            status, parsed = self.raw_request("POST", path.encode(), b'{"\xff": 1}', headers)
            self.assertEqual(status, 400, f"{path} with an invalid member name: {status} {parsed}")
        self.assert_up()

    def test_invalid_utf8_in_query_strings_is_a_4xx(self):
        for path, params, token in self.query_endpoints():
            headers = {"Authorization": "Bearer " + token} if token else {}
            for name in params:
                for bad in BAD_UTF8:
                    for encoded in [urllib.parse.quote_from_bytes(b"x" + bad).encode(), b"x" + bad]:
                        query = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in params.items() if k != name)
                        target = path.encode() + b"?" + query.encode() + (b"&" if query else b"") + \
                            name.encode() + b"=" + encoded
                        with self.subTest(path=path[:30], name=name, value=encoded):
                            status, parsed = self.raw_request("GET", target, headers=headers)
                            if b"%" not in encoded and status is None:
                                continue  # a raw non-ASCII byte in the request line: the HTTP parser may close
                            self.assertIsNotNone(status, f"{target[:80]!r}: no answer")
                            self.assertTrue(400 <= status < 500, f"{target[:80]!r}: {status} {parsed}")
                            self.assertIsInstance(parsed, dict, f"{target[:80]!r}: not a JSON error")
            # As a parameter name.
            status, parsed = self.raw_request("GET", path.encode() + b"?%ff%fe=1", headers=headers)
            self.assertEqual(status, 400, f"{path} with an invalid parameter name: {status} {parsed}")
        self.assert_up()

    # ---------------------------------------------------------------------------------------------------------
    # SQL injection
    # ---------------------------------------------------------------------------------------------------------

    def table_rows(self):
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            schema = sorted(db.execute("SELECT type, name, sql FROM sqlite_master"))
            rows = {t: sorted(map(repr, db.execute(f'SELECT * FROM "{t}"'))) for t in tables}
        return schema, rows

    def test_sql_injection_in_every_field_and_parameter(self):
        schema_before, before = self.table_rows()
        created, reported, codes = [], 0, []
        # Every string field of every JSON body (and each list's element).
        for path, body, token in self.body_endpoints():
            for field in body:
                for payload in SQL_INJECTIONS:
                    value = [payload] if isinstance(body[field], list) else payload
                    sent = dict(body, **{field: value})
                    if "reference" in body and field != "reference":
                        sent["reference"] = f"INJ-{len(codes)}"  # a new patient each time (a reference is one)
                    result = call(self.base, "POST", path, sent, token)
                    codes.append(result[0])
                    with self.subTest(path=path[:30], field=field, payload=payload):
                        self.assertLess(result[0], 500, f"{path} {field}={payload!r}: {result[2]}")
                        if result[0] >= 400:
                            self.assert_json_error(result)
                    if path == "/api/v1/procedures" and result[0] == 201:
                        created.append((result[2]["procedure"]["id"], field, value))
                    if path.endswith("/symptom") and result[0] in (200, 201):
                        reported += 1
        # Every query parameter of every endpoint that takes some, and the ids and tokens in paths.
        for path, params, token in self.query_endpoints():
            for name in params:
                for payload in SQL_INJECTIONS:
                    query = urllib.parse.urlencode(dict(params, **{name: payload}))
                    result = call(self.base, "GET", path + "?" + query, token=token)
                    with self.subTest(path=path[:30], name=name, payload=payload):
                        self.assertLess(result[0], 500, f"{path}?{name}={payload!r}: {result[2]}")
                        if result[0] >= 400:
                            self.assert_json_error(result)
                        if path == "/api/v1/procedures" and result[0] == 200:
                            self.assertLessEqual(result[2]["total"], 1 + len(created), "the list leaked rows")
        for payload in SQL_INJECTIONS:
            quoted = urllib.parse.quote(payload, safe="")
            for method, path, token in [("GET", f"/api/v1/procedures/{quoted}", self.token),
                                        ("GET", f"/api/v1/procedures/{self.pid}%20OR%201=1", self.token),
                                        ("GET", f"/api/v1/p/{quoted}/status", None),
                                        ("GET", f"/p/{quoted}", None), ("POST", f"/u/{quoted}", None),
                                        ("POST", f"/api/v1/procedures/{quoted}/reminders/cancel", self.token)]:
                result = call(self.base, method, path, token=token)
                with self.subTest(path=path[:40]):
                    self.assertIn(result[0], (400, 404), f"{method} {path}: {result[2]}")
                    self.assert_json_error(result)
            # As a bearer token.
            self.assert_json_error(call(self.base, "GET", "/api/v1/procedures", token=payload), 401, 401)

        # The database: the same schema; the only new rows are the registrations that were answered 201 (the
        # payload stored as text, verbatim), their patients and reminders, the symptom reports answered 200 and the
        # audit log; every earlier row is unchanged.
        schema_after, after = self.table_rows()
        self.assertEqual(schema_after, schema_before, "the schema changed")
        grown = {"patient": len(created), "procedure_record": len(created), "symptom_report": reported}
        for table, rows in before.items():
            with self.subTest(table=table):
                missing = set(rows) - set(after[table])
                self.assertEqual(missing, set(), f"rows of {table} changed or went missing")
                if table in grown:
                    self.assertEqual(len(after[table]), len(rows) + grown[table], f"new rows in {table}")
                elif table not in ("audit_log",):
                    self.assertEqual(len(after[table]), len(rows), f"{table} has new rows")
        for pid, field, value in created:
            status, _, item = call(self.base, "GET", f"/api/v1/procedures/{pid}", token=self.token)
            self.assertEqual(status, 200)
            if field in ("display_name", "contact", "reference"):
                self.assertEqual(item.get(field), value, f"{field} not stored verbatim")
        self.assertTrue(any(c == 201 for c in codes), "no injection string was accepted as plain text anywhere")
        self.assert_up()

    # ---------------------------------------------------------------------------------------------------------
    # Static files
    # ---------------------------------------------------------------------------------------------------------

    def test_path_traversal_on_static_files(self):
        root = os.path.join(self.folder, "web")
        os.makedirs(os.path.join(root, "sub"), exist_ok=True)
        for name in ["clinic.html", "patient.html", "icon.svg"]:
            with open(os.path.join(root, name), "w") as f:
                f.write("<!doctype html><title>page</title>")
        with open(os.path.join(root, "app.js"), "w") as f:
            f.write("console.log('app');")
        with open(os.path.join(root, "sub", "inner.js"), "w") as f:
            f.write("INNER-SECRET")
        with open(os.path.join(self.folder, "secret.txt"), "w") as f:
            f.write("TOP-SECRET")
        os.symlink(os.path.join(self.folder, "secret.txt"), os.path.join(root, "link.txt"))
        server = Server(self.db, self.folder, args=["--web-root", root])
        attempts = [
            "/static/../secret.txt", "/static/..%2fsecret.txt", "/static/%2e%2e/secret.txt",
            "/static/%2e%2e%2fsecret.txt", "/static/%2E%2E%2Fsecret.txt", "/static/..%5csecret.txt",
            "/static/..\\secret.txt", "/static/....//secret.txt", "/static/%252e%252e%252fsecret.txt",
            "/static/%c0%ae%c0%ae/secret.txt", "/static/%c0%ae%c0%ae%c0%afsecret.txt", "/static/..;/secret.txt",
            "/static/link.txt", "/static/sub/inner.js", "/static/sub%2finner.js", "/static/./app.js/../../secret.txt",
            "/static/%2fetc%2fpasswd", "/static//etc/passwd", "/static/../../../../../../etc/passwd",
            "/static/..", "/static/.", "/static/", "/static/%00", "/static/app.js%00.txt", "/static/app.js\x00",
            "/../secret.txt", "/%2e%2e/secret.txt", "/..%2f..%2fetc%2fpasswd", "/p/../../secret.txt",
            "/static/.htaccess", "/static/~root", "/static/secret.txt", "/clinic/../secret.txt",
        ]
        try:
            self.assertEqual(call(server.base, "GET", "/static/app.js")[0], 200, "the web root is not served")
            for path in attempts:
                with self.subTest(path=path):
                    answer = raw(server.port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
                    status = status_of(answer)
                    self.assertNotIn(b"TOP-SECRET", answer, f"{path} served the file outside the web root")
                    self.assertNotIn(b"INNER-SECRET", answer, f"{path} served a file in a subfolder")
                    self.assertNotIn(b"root:x:0", answer, f"{path} served /etc/passwd")
                    self.assertTrue(status is None or 400 <= status < 500, f"{path}: {answer[:200]!r}")
            # The built-in pages too (no --web-root).
            for path in ["/static/../../../../etc/passwd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                         "/static/..%2f..%2f..%2fetc%2fpasswd"]:
                answer = raw(self.port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertNotIn(b"root:x:0", answer, f"{path} served /etc/passwd")
                self.assertIn(status_of(answer), (400, 404, None), f"{path}: {answer[:200]!r}")
        finally:
            self.assertEqual(server.stop(), 0)

    # ---------------------------------------------------------------------------------------------------------
    # Token guessing
    # ---------------------------------------------------------------------------------------------------------

    def test_token_guessing_hits_the_rate_limit(self):
        limit = 20
        server = Server(self.db, self.folder, {"AFTERCARE_RATE_LIMIT": str(limit)})
        try:
            def guess():
                return "".join(random.choices(string.ascii_letters + string.digits + "-_", k=43))

            paths = [lambda: f"/api/v1/p/{guess()}/status", lambda: f"/api/v1/p/{guess()}/can?q=gym",
                     lambda: f"/p/{guess()}", lambda: f"/u/{guess()}", lambda: f"/api/v1/p/{guess()}"]
            results = [call(server.base, "GET", paths[i % len(paths)]()) for i in range(limit + 10)]
            codes = [r[0] for r in results]
            self.assertEqual(codes[:limit], [404] * limit, f"guesses before the limit: {codes}")
            self.assertEqual(codes[limit:], [429] * 10, f"guesses after {limit} a minute: {codes}")
            _, headers, body = results[-1]
            self.assertEqual(body["error"]["code"], "rate_limited")
            wait = int(headers["Retry-After"])
            self.assertTrue(1 <= wait <= 60, f"Retry-After {wait}")
            # Staff token guessing is limited the same way.
            code, headers, _ = call(server.base, "GET", "/api/v1/procedures", token=guess())
            self.assertEqual(code, 429, "a guessed staff token after the limit")
            # Another client address is not held back by the guesser; health checks never are.
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10, source_address=("127.0.0.2", 0))
            conn.request("GET", f"/api/v1/p/{self.ptoken}/status")
            self.assertEqual(conn.getresponse().status, 200, "another client was limited too")
            conn.close()
            self.assertEqual(call(server.base, "GET", "/healthz")[0], 200)
            # After Retry-After the guesser may try again, one at a time.
            time.sleep(wait + 0.2)
            self.assertEqual(call(server.base, "GET", paths[0]())[0], 404, "still limited after Retry-After")
            self.assertEqual(call(server.base, "GET", paths[0]())[0], 429, "the bucket refilled too fast")
        finally:
            self.assertEqual(server.stop(), 0)

    # ---------------------------------------------------------------------------------------------------------
    # Many connections
    # ---------------------------------------------------------------------------------------------------------

    @staticmethod
    def settled_fds(server):
        """The server's open descriptors once the start-up probe's connection is gone."""
        call(server.base, "GET", "/healthz")
        time.sleep(0.3)
        return fd_count(server.proc.pid)

    def flood(self, server, count, requests):
        """Opens `count` connections at once; `requests` of them send a request and read the answer; the rest stay
        idle (some with half a request). Checks that others are answered promptly meanwhile; closes them all."""
        socks = []
        try:
            for i in range(count):
                socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            baseline = self.base_fds
            accepted = wait_for(lambda: fd_count(server.proc.pid) >= baseline + count, 15)
            self.assertTrue(accepted, f"the server accepted {fd_count(server.proc.pid) - baseline} of {count}")
            for i, s in enumerate(socks):
                if i < requests:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                elif i % 2:
                    s.sendall(b"GET /api/v1/p/")
            for path in ["/healthz", f"/api/v1/p/{self.ptoken}/status", "/api/v1/procedures?limit=5"]:
                status, seconds = timed_get(server.base, path, token=self.token if "procedures" in path else None)
                self.assertEqual(status, 200, f"{path} with {count} connections open")
                self.assertLess(seconds, PROMPT, f"{path} took {seconds:.2f} s with {count} connections open")
            for s in socks[:requests]:
                answer = s.recv(4096)
                self.assertEqual(status_of(answer), 200, f"a request on one of the {count}: {answer[:100]!r}")
        finally:
            for s in socks:
                s.close()

    def test_thousands_of_connections_leave_no_trace(self):
        if not raise_nofile(CONNECTIONS + 500):
            self.skipTest(f"cannot raise the open-file limit to {CONNECTIONS + 500} here")
        server = Server(self.db, self.folder)
        try:
            pid = server.proc.pid
            for _ in range(20):
                call(server.base, "GET", f"/api/v1/p/{self.ptoken}/status")
            self.base_fds = self.settled_fds(server)
            # Warm-up: one round, so the allocator's pools and the connection objects' first growth are counted out.
            self.flood(server, CONNECTIONS, 500)
            self.assertTrue(wait_for(lambda: fd_count(pid) == self.base_fds, 15),
                            f"open descriptors after the warm-up: {fd_count(pid)}, before: {self.base_fds}")
            rss_before = rss_bytes(pid)
            for _ in range(2):
                self.flood(server, CONNECTIONS, 500)
                self.assertTrue(wait_for(lambda: fd_count(pid) == self.base_fds, 15),
                                f"open descriptors after {CONNECTIONS} closed: {fd_count(pid)}, "
                                f"before: {self.base_fds}")
            rss_after = rss_bytes(pid)
            growth = rss_after - rss_before
            print(f"abuse_test: RSS {rss_before >> 20} MiB -> {rss_after >> 20} MiB after 2 x {CONNECTIONS} "
                  f"connections; descriptors {self.base_fds}", file=sys.stderr)
            self.assertLess(growth, RSS_GROWTH, f"RSS grew by {growth >> 20} MiB over two rounds of {CONNECTIONS}")
            self.assertEqual(timed_get(server.base, "/healthz")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_more_connections_than_descriptors(self):
        # The server under an open-file limit of 256 (hard, so it cannot raise it): it caps its connections below
        # the limit, so 600 clients at once never make accept() fail; once they leave it answers again.
        limit = 256

        def limited():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        original = subprocess.Popen
        subprocess.Popen = lambda *args, **kwargs: original(*args, preexec_fn=limited, **kwargs)
        try:
            server = Server(self.db, self.folder)  # api_test's harness, started under the limit
        finally:
            subprocess.Popen = original
        socks = []
        try:
            pid = server.proc.pid
            base = self.settled_fds(server)
            for _ in range(600):
                socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            wait_for(lambda: fd_count(pid) >= limit - 64, 10)
            time.sleep(0.5)
            self.assertLessEqual(fd_count(pid), limit - 64 + base, "more connections than the cap")
            self.assertIsNone(server.proc.poll(), "the server died")
            for s in socks:
                s.close()
            socks = []
            self.assertTrue(wait_for(lambda: fd_count(pid) <= base, 15), "descriptors not released")
            status, seconds = timed_get(server.base, "/healthz")
            self.assertEqual(status, 200, "no answer after more clients than descriptors came and went")
            self.assertIn('"max_connections":"%d"' % (limit - 64), server.logs())
        finally:
            for s in socks:
                s.close()
            self.assertEqual(server.stop(), 0)

    def test_max_connections_setting(self):
        server = Server(self.db, self.folder, {"AFTERCARE_MAX_CONNECTIONS": "50"})
        socks = []
        try:
            pid = server.proc.pid
            base = self.settled_fds(server)
            for _ in range(120):
                socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            wait_for(lambda: fd_count(pid) >= base + 50, 10)
            time.sleep(0.3)
            self.assertEqual(fd_count(pid), base + 50, "open connections beyond --max-connections 50")
            for s in socks[:80]:  # 50 served, 70 waiting: 40 are left, all of them served
                s.close()
            # The ones waiting in the backlog are taken as others leave; a newcomer is answered.
            status, seconds = timed_get(server.base, "/healthz")
            self.assertEqual(status, 200)
            self.assertLess(seconds, PROMPT)
        finally:
            for s in socks:
                s.close()
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    if not sys.platform.startswith("linux"):
        print("abuse_test: skipped: needs Linux (/proc)", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
