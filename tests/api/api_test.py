#!/usr/bin/env python3
"""HTTP tests of the clinic server: start the real `aftercare serve` on a free loopback port and drive it.

The database is AFTERCARE_TEST_DATABASE when set (tests/api/with_postgres.py sets it to a throw-away PostgreSQL),
else a fresh SQLite file. The binary is AFTERCARE_BINARY (CTest sets it) or build-server's.
Every endpoint is tried with another clinic's and another patient's credentials; bad input must give a 4xx JSON
error and never a 5xx; logs must hold no patient data.
"""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("AFTERCARE_BINARY") or os.path.join(HERE, "..", "..", "build-server", "tools",
                                                                "aftercare", "aftercare")
SECURITY_HEADERS = ["X-Content-Type-Options", "Referrer-Policy", "Cache-Control", "X-Frame-Options",
                    "Content-Security-Policy"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M") + "Z"


class Server:
    """One `aftercare serve` process; stderr (the JSON log) goes to a file."""

    def __init__(self, db, folder, extra_env=None, args=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(folder, f"server-{self.port}.log")
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("AFTERCARE_") and key not in ("AFTERCARE_TEST_DATABASE",):
                del env[key]
        env["AFTERCARE_RATE_LIMIT"] = "0"
        env.update(extra_env or {})
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--db", db] +
                                     (args or []), cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=self.log,
                                     text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log_path).read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def stop_and_clean_up(self, folder):
        """Stops the server, removes `folder`, checks it exited 0 on SIGTERM and returns its log."""
        code = self.stop()
        logs = self.logs()
        shutil.rmtree(folder, ignore_errors=True)
        assert code == 0, f"serve exited {code} on SIGTERM"
        return logs


def call(base, method, path, body=None, token=None, headers=None, raw=None):
    """(status, headers, parsed JSON or text)."""
    data = None
    hdrs = dict(headers or {})
    if raw is not None:
        data = raw
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, rh, payload = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, rh, payload = e.code, e.headers, e.read()
    text = payload.decode("utf-8", "replace")
    if (rh.get("Content-Type") or "").startswith("application/json"):
        return status, rh, json.loads(text)
    return status, rh, text


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="aftercare-api-")
        cls.db = os.environ.get("AFTERCARE_TEST_DATABASE") or "sqlite:" + os.path.join(cls.folder, "db", "a.db")
        cls.sqlite = cls.db.startswith("sqlite:")
        cls.clinic_a = cls.create_clinic("Clinic A")
        cls.clinic_b = cls.create_clinic("Clinic B")
        cls.server = Server(cls.db, cls.folder)
        cls.base = cls.server.base
        now = datetime.datetime.now(datetime.timezone.utc)
        cls.now = now
        cls.a1 = cls.register(cls.clinic_a["api_token"], "A-001", iso(now - datetime.timedelta(hours=3)),
                              ["face"], display_name="Alice Example", contact="alice@example.org")
        cls.a_old = cls.register(cls.clinic_a["api_token"], "A-002", iso(now - datetime.timedelta(days=70)),
                                 ["face", "neck"])
        cls.b1 = cls.register(cls.clinic_b["api_token"], "B-001", iso(now - datetime.timedelta(hours=30)),
                              ["face", "periorbital"], display_name="Bob Example")

    @classmethod
    def tearDownClass(cls):
        logs = cls.server.stop_and_clean_up(cls.folder)
        # No patient data in the logs: tokens, references, names, contacts.
        for secret in [cls.a1["patient_token"], cls.b1["patient_token"], "A-001", "B-001", "Alice", "Bob",
                       "alice@example.org", cls.clinic_a["api_token"]]:
            assert secret not in logs, f"the log holds {secret!r}"
        for line in logs.splitlines():
            try:
                json.loads(line)  # every line one JSON object
            except ValueError:
                raise AssertionError(f"a log line is not JSON: {line!r}")

    @classmethod
    def create_clinic(cls, name):
        out = subprocess.run([BINARY, "--json", "admin", "create-clinic", name, "--db", cls.db], cwd=cls.folder,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    @classmethod
    def register(cls, token, reference, end, areas, **extra):
        body = {"reference": reference, "procedure_end": end, "zone": "America/New_York", "areas": areas}
        body.update(extra)
        status, headers, data = call(cls.base, "POST", "/api/v1/procedures", body, token)
        assert status == 201, (status, data)
        assert headers["Location"] == f"/api/v1/procedures/{data['procedure']['id']}"
        return data

    def assert_error(self, result, status):
        code, headers, body = result
        self.assertEqual(code, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertIsInstance(body["error"]["code"], str)
        self.assertIsInstance(body["error"]["message"], str)
        for h in SECURITY_HEADERS:
            self.assertIn(h, headers)

    def patient(self, reg):
        return "/api/v1/p/" + reg["patient_token"]

    # ---------------------------------------------------------------------------------------------------------
    # Operating
    # ---------------------------------------------------------------------------------------------------------

    def test_health_ready_metrics(self):
        status, headers, body = call(self.base, "GET", "/healthz")
        self.assertEqual((status, body["status"]), (200, "ok"))
        for h in SECURITY_HEADERS:
            self.assertIn(h, headers)
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        status, _, body = call(self.base, "GET", "/readyz")
        self.assertEqual((status, body["status"]), (200, "ready"))
        self.assertEqual(body["database"], "sqlite3" if self.sqlite else "postgresql")
        call(self.base, "GET", self.patient(self.a1) + "/status")
        status, headers, text = call(self.base, "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        self.assertIn('aftercare_http_requests_total{route="/api/v1/p/{token}/status",method="GET",status="200"}',
                      text)
        self.assertIn('aftercare_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}', text)
        self.assertNotIn(self.a1["patient_token"], text)

    # ---------------------------------------------------------------------------------------------------------
    # Staff
    # ---------------------------------------------------------------------------------------------------------

    def test_register_returns_a_private_link(self):
        reg = self.a1
        token = reg["patient_token"]
        self.assertGreaterEqual(len(token), 43)  # 256 bits, URL-safe base64
        self.assertEqual(reg["patient_link"], f"{self.base}/p/{token}")
        p = reg["procedure"]
        self.assertEqual((p["reference"], p["zone"], p["areas"]), ("A-001", "America/New_York", ["face"]))
        self.assertEqual(p["protocol"]["id"], "cit")
        self.assertEqual(p["state"], "active")
        self.assertEqual(p["series_number"], 1)
        # The private link itself answers with the procedure, and only with the token.
        status, _, body = call(self.base, "GET", f"/p/{token}")
        self.assertEqual(status, 200, body)
        self.assertIn("procedure", body)

    def test_register_validates_strictly(self):
        tok = self.clinic_a["api_token"]
        good = {"reference": "X-1", "procedure_end": iso(self.now), "zone": "America/New_York", "areas": ["face"]}
        cases = [
            dict(good, extra=1),
            {k: v for k, v in good.items() if k != "zone"},
            dict(good, zone="Mars/Olympus"),
            dict(good, areas=["elbow"]),
            dict(good, areas="face"),
            dict(good, areas=[]),
            dict(good, procedure_end="yesterday"),
            dict(good, procedure_end=iso(self.now + datetime.timedelta(days=800))),
            dict(good, reference="Jane Doe"),
            dict(good, reference=""),
            dict(good, reference=5),
            dict(good, display_name=["x"]),
            dict(good, contact="x" * 400),
        ]
        for body in cases:
            with self.subTest(body=body):
                self.assert_error(call(self.base, "POST", "/api/v1/procedures", body, tok), 400)
        for raw in [b"{", b"[]", b"null", b"\xff\xfe", b'{"reference": "a", "reference": 1', b"1e999"]:
            with self.subTest(raw=raw):
                self.assert_error(call(self.base, "POST", "/api/v1/procedures", token=tok, raw=raw,
                                       headers={"Content-Type": "application/json"}), 400)
        self.assert_error(call(self.base, "POST", "/api/v1/procedures", token=tok, raw=json.dumps(good).encode(),
                               headers={"Content-Type": "text/plain"}), 415)
        self.assert_error(call(self.base, "POST", "/api/v1/procedures", token=tok,
                               raw=b'{"reference":"' + b"x" * 70000 + b'"}',
                               headers={"Content-Type": "application/json"}), 413)

    def test_list_is_paged_filtered_and_scoped(self):
        tok = self.clinic_a["api_token"]
        status, _, body = call(self.base, "GET", "/api/v1/procedures?limit=1", token=tok)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["items"]), 1)
        self.assertGreaterEqual(body["total"], 2)
        self.assertEqual(body["next_offset"], 1)
        refs = set()
        offset = 0
        while offset is not None:
            _, _, page = call(self.base, "GET", f"/api/v1/procedures?limit=1&offset={offset}", token=tok)
            refs.update(i["reference"] for i in page["items"])
            offset = page["next_offset"]
        self.assertIn("A-001", refs)
        self.assertNotIn("B-001", refs)  # another clinic's patients never show
        _, _, active = call(self.base, "GET", "/api/v1/procedures?state=active&limit=100", token=tok)
        _, _, finished = call(self.base, "GET", "/api/v1/procedures?state=finished&limit=100", token=tok)
        old = self.a_old["procedure"]["id"]
        self.assertIn(self.a1["procedure"]["id"], [i["id"] for i in active["items"]])
        self.assertIn(old, [i["id"] for i in finished["items"]])
        self.assertNotIn(old, [i["id"] for i in active["items"]])
        self.assertTrue(all(i["state"] == "finished" for i in finished["items"]))
        for query in ["state=old", "limit=0", "limit=101", "limit=x", "offset=-1", "page=2", "limit=1&limit=2",
                      "state=%zz", "state=%"]:
            with self.subTest(query=query):
                self.assert_error(call(self.base, "GET", "/api/v1/procedures?" + query, token=tok), 400)

    def test_read_one_and_only_ones_own(self):
        pid = self.a1["procedure"]["id"]
        status, _, body = call(self.base, "GET", f"/api/v1/procedures/{pid}", token=self.clinic_a["api_token"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["reference"], "A-001")
        self.assertEqual(body["display_name"], "Alice Example")
        self.assertIn("activities", body["status"])
        # Another clinic's staff, a patient token as bearer, no token, a bad token.
        self.assert_error(call(self.base, "GET", f"/api/v1/procedures/{pid}", token=self.clinic_b["api_token"]), 404)
        self.assert_error(call(self.base, "GET", f"/api/v1/procedures/{pid}", token=self.a1["patient_token"]), 401)
        self.assert_error(call(self.base, "GET", f"/api/v1/procedures/{pid}"), 401)
        self.assert_error(call(self.base, "GET", f"/api/v1/procedures/{pid}", headers={"Authorization": "Basic x"}),
                          401)
        for bad in ["abc", "99999999999999999999", "-1", "0"]:
            self.assert_error(call(self.base, "GET", f"/api/v1/procedures/{bad}", token=self.clinic_a["api_token"]),
                              404)

    def test_staff_endpoints_refuse_other_clinics_and_patients(self):
        pid = self.a1["procedure"]["id"]
        body = {"procedure_end": iso(self.now)}
        for token, status in [(self.clinic_b["api_token"], 404), (self.b1["patient_token"], 401), (None, 401),
                              (self.a1["patient_token"], 401)]:
            with self.subTest(token=token and token[:6]):
                self.assert_error(call(self.base, "POST", f"/api/v1/procedures/{pid}/follow-ups", body, token),
                                  status)
                if status == 401:
                    self.assert_error(call(self.base, "GET", "/api/v1/procedures", token=token), 401)
                    reg = {"reference": "Z", "procedure_end": iso(self.now), "zone": "UTC", "areas": ["face"]}
                    self.assert_error(call(self.base, "POST", "/api/v1/procedures", reg, token), 401)

    def test_follow_up_checks_the_series_rule(self):
        tok = self.clinic_a["api_token"]
        old = self.a_old["procedure"]["id"]
        # Too soon after the last treatment: refused with the earliest date.
        too_soon = iso(datetime.datetime.fromisoformat(self.a_old["procedure"]["procedure_end"]) +
                       datetime.timedelta(days=3))
        code, _, body = call(self.base, "POST", f"/api/v1/procedures/{old}/follow-ups", {"procedure_end": too_soon},
                             tok)
        self.assertEqual(code, 409, body)
        self.assertEqual(body["error"]["code"], "too_early")
        self.assert_error(call(self.base, "POST", f"/api/v1/procedures/{old}/follow-ups", {"procedure_end": "x"},
                               tok), 400)
        self.assert_error(call(self.base, "POST", f"/api/v1/procedures/{old}/follow-ups",
                               {"procedure_end": iso(self.now), "nope": 1}, tok), 400)
        code, _, body = call(self.base, "POST", f"/api/v1/procedures/{old}/follow-ups",
                             {"procedure_end": iso(self.now - datetime.timedelta(hours=1))}, tok)
        self.assertEqual(code, 201, body)
        self.assertEqual(body["procedure"]["series_number"], 2)
        self.assertEqual(body["procedure"]["follows"], old)
        self.assertEqual(body["procedure"]["reference"], "A-002")
        self.assertEqual(body["procedure"]["areas"], ["face", "neck"])
        self.assertNotEqual(body["patient_token"], self.a_old["patient_token"])
        # The earlier id now points at the latest of the series, which a second follow-up checks against.
        _, _, read = call(self.base, "GET", f"/api/v1/procedures/{old}", token=tok)
        self.assertEqual(read["latest_in_series"], body["procedure"]["id"])
        code, _, again = call(self.base, "POST", f"/api/v1/procedures/{old}/follow-ups",
                              {"procedure_end": iso(self.now)}, tok)
        self.assertEqual((code, again["error"]["code"]), (409, "too_early"))

    def test_login_issues_a_token(self):
        code, _, body = call(self.base, "POST", "/api/v1/login",
                             {"login": self.clinic_a["login"], "password": self.clinic_a["password"]})
        self.assertEqual(code, 200, body)
        code, _, listed = call(self.base, "GET", "/api/v1/procedures", token=body["token"])
        self.assertEqual(code, 200)
        self.assertNotIn("B-001", [i["reference"] for i in listed["items"]])
        self.assert_error(call(self.base, "POST", "/api/v1/login",
                               {"login": self.clinic_a["login"], "password": "wrong"}), 401)
        self.assert_error(call(self.base, "POST", "/api/v1/login",
                               {"login": self.clinic_a["login"], "password": self.clinic_b["password"]}), 401)
        self.assert_error(call(self.base, "POST", "/api/v1/login", {"login": 1, "password": "x"}), 400)
        self.assert_error(call(self.base, "GET", "/api/v1/login"), 405)

    # ---------------------------------------------------------------------------------------------------------
    # Patients
    # ---------------------------------------------------------------------------------------------------------

    def test_patient_status_now_and_at(self):
        p = self.patient(self.a1)
        code, _, body = call(self.base, "GET", p + "/status")
        self.assertEqual(code, 200, body)
        self.assertGreater(len(body["activities"]), 5)
        self.assertEqual(body["procedure"]["areas"], ["face"])
        code, _, later = call(self.base, "GET", p + "/status?at=" + iso(self.now + datetime.timedelta(days=30)))
        self.assertEqual(code, 200, later)
        self.assertGreater(later["hours_since_procedure"], body["hours_since_procedure"])
        # Each token reaches its own procedure: B's token answers with B's areas.
        _, _, b = call(self.base, "GET", self.patient(self.b1) + "/status")
        self.assertEqual(b["procedure"]["areas"], ["face", "periorbital"])
        for query in ["at=2020-01-01T00:00Z", "at=garbage", "at=2026-03-08T02:30", "when=now", "at=" + "9" * 100]:
            with self.subTest(query=query):
                self.assert_error(call(self.base, "GET", p + "/status?" + query), 400)

    def test_patient_questions(self):
        p = self.patient(self.a1)
        code, _, body = call(self.base, "GET", p + "/can?q=can%20I%20go%20to%20the%20gym")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["understood"]["kind"], "activity")
        self.assertEqual(body["answer"]["verdict"], "avoid")  # 3 hours after: no exercise for 24 h
        code, _, body = call(self.base, "GET", p + "/can?q=take+advil")
        self.assertEqual(code, 200, body)
        self.assertEqual(body["understood"]["kind"], "medicine")
        code, _, body = call(self.base, "GET", p + "/med?q=Advil")
        self.assertEqual(code, 200, body)
        self.assertTrue(body["known"])
        self.assertEqual(body["verdict"], "avoid")
        code, _, body = call(self.base, "GET", p + "/med?q=qwzxv")
        self.assertEqual((code, body["verdict"]), (200, "unknown"))
        code, _, body = call(self.base, "POST", p + "/ingredients", {"ingredients": "Aqua, Glycolic Acid, Glycerin"})
        self.assertEqual(code, 200, body)
        self.assertEqual(len(body["items"]), 3)
        self.assertIn(body["verdict"], ["avoid", "caution"])
        code, _, body = call(self.base, "POST", p + "/ingredients", {"ingredients": ["Aqua", "Salicylic Acid"]})
        self.assertEqual(code, 200, body)
        code, _, body = call(self.base, "POST", p + "/symptom", {"words": "still red"})
        self.assertEqual(code, 201, body)
        self.assertEqual(body["assessment"], "expected")
        code, _, plan = call(self.base, "GET", p + "/plan")
        self.assertEqual(code, 200, plan)
        self.assertIn("milestones", plan)
        # The symptom report is stored and the clinic sees it.
        _, _, read = call(self.base, "GET", f"/api/v1/procedures/{self.a1['procedure']['id']}",
                          token=self.clinic_a["api_token"])
        self.assertIn("still red", [r["words"] for r in read["symptom_reports"]])
        bad = [("GET", "/can", None), ("GET", "/can?q=", None), ("GET", "/can?q=" + "a" * 300, None),
               ("GET", "/can?q=xyzzy+plugh", None), ("GET", "/med", None), ("GET", "/med?q=advil&at=x", None),
               ("POST", "/ingredients", {}), ("POST", "/ingredients", {"ingredients": 5}),
               ("POST", "/ingredients", {"ingredients": ", ,"}), ("POST", "/ingredients", {"ingredients": [1]}),
               ("POST", "/symptom", {}), ("POST", "/symptom", {"words": ""}), ("POST", "/symptom", {"words": 3}),
               ("POST", "/symptom", {"words": "red", "x": 1}), ("GET", "/can?q=gym&context=moon", None)]
        for method, path, body in bad:
            with self.subTest(path=path, body=body):
                code, _, answer = call(self.base, method, p + path, body)
                self.assertIn(code, (400, 422), answer)
                self.assertIn("error", answer)
        self.assert_error(call(self.base, "GET", p + "/symptom"), 405)
        self.assert_error(call(self.base, "POST", p + "/status", {}), 405)

    def test_calendar(self):
        code, headers, text = call(self.base, "GET", self.patient(self.a1) + "/plan.ics")
        if code == 404:
            self.skipTest("built without the calendar library")
        self.assertEqual(code, 200, text)
        self.assertTrue(headers["Content-Type"].startswith("text/calendar"))
        self.assertTrue(text.startswith("BEGIN:VCALENDAR"))

    def test_patient_endpoints_refuse_other_credentials(self):
        endpoints = [("GET", "/status", None), ("GET", "/plan", None), ("GET", "/can?q=gym", None),
                     ("GET", "/med?q=advil", None), ("POST", "/ingredients", {"ingredients": "aqua"}),
                     ("POST", "/symptom", {"words": "red"}), ("GET", "/plan.ics", None), ("GET", "", None)]
        wrong = [self.clinic_a["api_token"], self.clinic_b["api_token"],
                 self.a1["patient_token"][:-1] + ("A" if self.a1["patient_token"][-1] != "A" else "B"),
                 "short", "../" + self.a1["patient_token"], "%00", "A" * 43]
        for token in wrong:
            for method, path, body in endpoints:
                with self.subTest(token=token[:8], path=path):
                    code, _, answer = call(self.base, method, "/api/v1/p/" + token + path, body)
                    self.assertIn(code, (404,), answer)
            code, _, _ = call(self.base, "GET", "/p/" + token)
            self.assertEqual(code, 404)
        # A staff bearer token does not open a patient endpoint either.
        self.assert_error(call(self.base, "GET", "/api/v1/p/x/status", token=self.clinic_a["api_token"]), 404)

    # ---------------------------------------------------------------------------------------------------------
    # Malformed traffic
    # ---------------------------------------------------------------------------------------------------------

    def raw(self, data, timeout=5):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = b""
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        break
                    chunks += c
                    if b"\r\n\r\n" in chunks and b"Connection: keep-alive" in chunks:
                        break
            except socket.timeout:
                pass
            return chunks

    def test_malformed_requests_never_5xx(self):
        garbage = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\x03\r\n\r\n",
                   b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                   b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                   b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n",
                   b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 10000000\r\n\r\n{",
                   b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                   b"GET /api/v1/p/%ff%fe/status HTTP/1.1\r\nHost: x\r\n\r\n",
                   b"GET /api/v1/procedures?limit=%ff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                   + self.clinic_a["api_token"].encode() + b"\r\n\r\n"]
        for data in garbage:
            with self.subTest(data=data[:40]):
                answer = self.raw(data)
                if answer:
                    status = int(answer.split(b" ")[1])
                    self.assertLess(status, 500, answer[:300])
        for path in ["/api", "/api/v1", "/api/v2/procedures", "/api/v1/procedures/1/2/3", "//", "/healthz/",
                     "/api/v1/p/" + self.a1["patient_token"] + "/nope", "/api/v1/p/" + self.a1["patient_token"] +
                     "/status/x"]:
            with self.subTest(path=path):
                self.assert_error(call(self.base, "GET", path, token=self.clinic_a["api_token"]), 404)
        self.assert_error(call(self.base, "DELETE", "/api/v1/procedures", token=self.clinic_a["api_token"]), 405)
        status, _, _ = call(self.base, "GET", "/healthz")
        self.assertEqual(status, 200)  # still up


    def test_concurrent_requests(self):
        tok = self.clinic_b["api_token"]
        status_path = self.patient(self.b1) + "/status"

        def one(i):
            if i % 3 == 0:
                body = {"reference": f"C-{i}", "procedure_end": iso(self.now), "zone": "Europe/Paris",
                        "areas": ["face"]}
                return call(self.base, "POST", "/api/v1/procedures", body, tok)[0]
            if i % 3 == 1:
                return call(self.base, "GET", status_path)[0]
            return call(self.base, "GET", "/api/v1/procedures?limit=5", token=tok)[0]

        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(one, range(60)))
        self.assertEqual(sorted(set(codes)), [200, 201], codes)
        _, _, listed = call(self.base, "GET", "/api/v1/procedures?limit=100", token=tok)
        self.assertEqual(len([i for i in listed["items"] if i["reference"].startswith("C-")]), 20)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_under_load_finishes_cleanly(self):
        folder = tempfile.mkdtemp(prefix="aftercare-api-stop-")
        db = os.environ.get("AFTERCARE_TEST_DATABASE") or "sqlite:" + os.path.join(folder, "a.db")
        out = subprocess.run([BINARY, "--json", "admin", "create-clinic", "Stop Clinic", "--db", db], cwd=folder,
                             capture_output=True, text=True, timeout=60)
        token = json.loads(out.stdout)["api_token"]
        server = Server(db, folder)
        now = iso(datetime.datetime.now(datetime.timezone.utc))

        def one(i):
            body = {"reference": f"S-{i}", "procedure_end": now, "zone": "Asia/Kathmandu", "areas": ["face"]}
            try:
                return call(server.base, "POST", "/api/v1/procedures", body, token)[0]
            except OSError:
                return "refused"  # arrived after the server stopped accepting

        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                futures = [pool.submit(one, i) for i in range(40)]
                time.sleep(0.05)
                server.proc.send_signal(signal.SIGTERM)
                results = [f.result() for f in futures]
            self.assertEqual(server.proc.wait(timeout=30), 0)
            self.assertTrue(all(r in (201, "refused") for r in results), results)
            self.assertIn('"event":"stopped"', server.logs())
            # Every 201 is a whole registration, readable after a restart; nothing half-written. (A request being
            # handled as the server stopped may commit without its answer arriving, hence at least.)
            again = Server(db, folder)
            try:
                _, _, listed = call(again.base, "GET", "/api/v1/procedures?limit=100", token=token)
                self.assertGreaterEqual(listed["total"], results.count(201))
                self.assertLessEqual(listed["total"], 40)
                for item in listed["items"]:
                    self.assertEqual((item["zone"], item["areas"]), ("Asia/Kathmandu", ["face"]))
            finally:
                again.stop()
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)


class RateLimitTest(unittest.TestCase):
    def test_token_endpoints_are_rate_limited_per_client(self):
        folder = tempfile.mkdtemp(prefix="aftercare-api-rl-")
        db = os.environ.get("AFTERCARE_TEST_DATABASE") or "sqlite:" + os.path.join(folder, "a.db")
        server = Server(db, folder, {"AFTERCARE_RATE_LIMIT": "5"})
        try:
            codes = [call(server.base, "GET", "/api/v1/p/" + "A" * 43 + "/status")[0] for _ in range(8)]
            self.assertEqual(codes[:5], [404] * 5)
            self.assertEqual(codes[-1], 429)
            code, headers, body = call(server.base, "GET", "/api/v1/procedures")
            self.assertEqual((code, body["error"]["code"]), (429, "rate_limited"))
            self.assertIn("Retry-After", headers)
            self.assertEqual(call(server.base, "GET", "/healthz")[0], 200)  # health checks are not limited
        finally:
            self.assertEqual(server.stop(), 0)
            shutil.rmtree(folder, ignore_errors=True)


SYSTEM_PYTHON = "/usr/bin/python3"  # tests/notify/sinks.py needs Debian's python3-aiosmtpd
SINKS = os.path.join(HERE, "..", "notify", "sinks.py")
WEBHOOK_SECRET = "an-api-test-webhook-secret"


def write_notify_config(path, smtp_port, webhook_port):
    with open(path, "w") as f:
        f.write(f"""format_version = 1
[smtp]
url = "smtp://127.0.0.1:{smtp_port}"
tls = "none"
from = "Api Test Clinic <reminders@api-test.example>"
timeout_seconds = 10
[webhook]
url = "http://127.0.0.1:{webhook_port}/hook"
secret = "{WEBHOOK_SECRET}"
timeout_seconds = 10
[retry]
first_delay = 1
max_delay = 2
""")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class RemindersTest(unittest.TestCase):
    """serve --notify-config: reminders written at registration, the reminder routes, and delivery end to end."""

    create_clinic = ApiTest.__dict__["create_clinic"]
    register = ApiTest.__dict__["register"]
    assert_error = ApiTest.assert_error
    patient = ApiTest.patient

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="aftercare-reminders-")
        cls.db = os.environ.get("AFTERCARE_TEST_DATABASE") or "sqlite:" + os.path.join(cls.folder, "db", "r.db")
        cls.clinic_a = cls.create_clinic("Reminder Clinic A")
        cls.clinic_b = cls.create_clinic("Reminder Clinic B")
        # Nothing is due for hours, so nothing is sent: the mail server and webhook need not exist.
        cls.config = os.path.join(cls.folder, "notify.toml")
        write_notify_config(cls.config, free_port(), free_port())
        cls.server = Server(cls.db, cls.folder, args=["--notify-config", cls.config])
        cls.base = cls.server.base
        now = datetime.datetime.now(datetime.timezone.utc)
        cls.now = now
        cls.a1 = cls.register(cls.clinic_a["api_token"], "RA-001", iso(now - datetime.timedelta(hours=3)), ["face"],
                              display_name="Rita Example", contact="rita@example.org")
        cls.a2 = cls.register(cls.clinic_a["api_token"], "RA-002", iso(now - datetime.timedelta(hours=2)), ["face"],
                              contact="ruth@example.org")
        cls.a3 = cls.register(cls.clinic_a["api_token"], "RA-003", iso(now - datetime.timedelta(hours=1)), ["face"])
        cls.b1 = cls.register(cls.clinic_b["api_token"], "RB-001", iso(now - datetime.timedelta(hours=3)), ["face"],
                              display_name="Rob Example", contact="rob@example.org")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        logs = cls.server.logs()
        shutil.rmtree(cls.folder, ignore_errors=True)
        assert code == 0, f"serve exited {code} on SIGTERM"
        for secret in [cls.a1["patient_token"], cls.b1["patient_token"], "RA-001", "Rita", "rita@example.org",
                       "rob@example.org", cls.clinic_a["api_token"]]:
            assert secret not in logs, f"the log holds {secret!r}"

    def outbox(self, token, query=""):
        status, _, body = call(self.base, "GET", "/api/v1/outbox" + query, token=token)
        self.assertEqual(status, 200, body)
        return body["items"]

    def states(self, token, procedure):
        return {i["state"] for i in self.outbox(token, f"?procedure={procedure}&limit=1000")}

    def test_registration_writes_the_reminders(self):
        pid = self.a1["procedure"]["id"]
        items = self.outbox(self.clinic_a["api_token"], f"?procedure={pid}&limit=1000")
        self.assertEqual({i["channel"] for i in items}, {"email", "webhook"})
        self.assertEqual({i["state"] for i in items}, {"pending"})
        self.assertIn(f"rem-{pid}-sunscreen_allowed", {i["event_id"] for i in items})
        self.assertTrue(all(i["procedure_id"] == pid for i in items))
        # No contact, no mail: only the clinic's webhook.
        no_contact = self.outbox(self.clinic_a["api_token"], f"?procedure={self.a3['procedure']['id']}")
        self.assertEqual({i["channel"] for i in no_contact}, {"webhook"})
        # The clinic sees only its own rows.
        self.assertEqual({i["procedure_id"] for i in self.outbox(self.clinic_b["api_token"], "?limit=1000")},
                         {self.b1["procedure"]["id"]})
        self.assertEqual(len(self.outbox(self.clinic_a["api_token"], "?state=pending&limit=2")), 2)
        _, _, text = call(self.base, "GET", "/metrics")
        pending = [line for line in text.splitlines() if line.startswith('aftercare_outbox_reminders{state="pending"}')]
        self.assertEqual(len(pending), 1, text)
        self.assertGreater(int(pending[0].split()[-1]), 0)
        # The patient page's switch.
        status, _, body = call(self.base, "GET", self.patient(self.a1) + "/status")
        self.assertEqual(body["reminders"], {"contact": True, "subscribed": True})
        _, _, body = call(self.base, "GET", self.patient(self.a3))
        self.assertEqual(body["reminders"], {"contact": False, "subscribed": True})

    def test_outbox_validates_its_query(self):
        tok = self.clinic_a["api_token"]
        for query in ["?state=lost", "?limit=0", "?limit=1001", "?limit=x", "?colour=red", "?state=failed&state=sent"]:
            with self.subTest(query=query):
                self.assert_error(call(self.base, "GET", "/api/v1/outbox" + query, token=tok), 400)
        self.assert_error(call(self.base, "GET", "/api/v1/outbox?procedure=12x", token=tok), 404)
        self.assert_error(call(self.base, "POST", "/api/v1/outbox", {}, tok), 405)

    def test_patient_unsubscribe(self):
        pid = self.a2["procedure"]["id"]
        self.assertEqual(self.states(self.clinic_a["api_token"], pid), {"pending"})
        status, _, body = call(self.base, "POST", self.patient(self.a2) + "/unsubscribe")
        self.assertEqual(status, 200, body)
        self.assertGreater(body["withdrawn"], 0)
        self.assertEqual(self.states(self.clinic_a["api_token"], pid), {"unsubscribed"})
        _, _, body = call(self.base, "GET", self.patient(self.a2) + "/status")
        self.assertEqual(body["reminders"], {"contact": True, "subscribed": False})
        status, _, body = call(self.base, "POST", self.patient(self.a2) + "/unsubscribe", {})  # again: no change
        self.assertEqual((status, body["withdrawn"]), (200, 0))
        self.assert_error(call(self.base, "POST", self.patient(self.a2) + "/unsubscribe", {"all": True}), 400)
        self.assert_error(call(self.base, "GET", self.patient(self.a2) + "/unsubscribe"), 405)

    def test_staff_cancel(self):
        pid = self.a3["procedure"]["id"]
        status, _, body = call(self.base, "POST", f"/api/v1/procedures/{pid}/reminders/cancel",
                               token=self.clinic_a["api_token"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["procedure_id"], pid)
        self.assertGreater(body["cancelled"], 0)
        self.assertEqual(self.states(self.clinic_a["api_token"], pid), {"cancelled"})
        self.assertEqual(self.outbox(self.clinic_a["api_token"], f"?procedure={pid}&state=pending"), [])

    def test_other_clinics_and_patients_get_404(self):
        pid = self.b1["procedure"]["id"]
        for token, status in [(self.clinic_a["api_token"], 404), (self.b1["patient_token"], 401), (None, 401)]:
            with self.subTest(token=token and token[:6]):
                self.assert_error(call(self.base, "POST", f"/api/v1/procedures/{pid}/reminders/cancel", token=token),
                                  status)
                self.assert_error(call(self.base, "GET", f"/api/v1/outbox?procedure={pid}", token=token), status)
        self.assertEqual(self.states(self.clinic_b["api_token"], pid), {"pending"})
        for token in ["x" * 43, "short", self.clinic_b["api_token"]]:
            self.assert_error(call(self.base, "POST", f"/api/v1/p/{token}/unsubscribe"), 404)
        self.assertEqual(self.states(self.clinic_b["api_token"], pid), {"pending"})

    def test_unsubscribe_link_with_a_bad_token_is_404(self):
        for token in ["x" * 43, "not-a-token", "%00", self.b1["patient_token"]]:
            for method in ["GET", "POST"]:
                with self.subTest(token=token[:6], method=method):
                    self.assert_error(call(self.base, method, f"/u/{token}"), 404)
        self.assert_error(call(self.base, "PUT", "/u/" + "x" * 43), 405)
        self.assertEqual(self.states(self.clinic_b["api_token"], self.b1["procedure"]["id"]), {"pending"})

    def test_bad_notify_config_is_one_line_and_exit_2(self):
        bad = os.path.join(self.folder, "bad.toml")
        with open(bad, "w") as f:
            f.write("format_version = 1\n[smtp]\ncolour = 'blue'\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")}
        for args, extra in [(["--notify-config", bad], {}), ([], {"AFTERCARE_NOTIFY_CONFIG": bad}),
                            (["--notify-config", os.path.join(self.folder, "missing.toml")], {})]:
            with self.subTest(args=args, env=extra):
                out = subprocess.run([BINARY, "serve", "--listen", f"127.0.0.1:{free_port()}", "--db", self.db] + args,
                                     cwd=self.folder, env=dict(env, **extra), capture_output=True, text=True,
                                     timeout=60)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
                self.assertIn("notify-config", out.stderr)
        help_text = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True).stdout
        self.assertIn("--notify-config", help_text)
        self.assertIn("AFTERCARE_NOTIFY_CONFIG", help_text)

    def test_zz_delivery_end_to_end(self):
        # Last in the class (zz): on PostgreSQL the database is shared, and `dispatch --now 2030-...` sends every
        # row due by then, the other tests' too. On SQLite it has a database of its own.
        if subprocess.run([SYSTEM_PYTHON, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
            self.skipTest("python3-aiosmtpd is not installed")
        folder = os.path.join(self.folder, "e2e")
        os.makedirs(folder)
        sinks_log = open(os.path.join(folder, "sinks.log"), "w")  # noqa: SIM115 (closed below)
        sinks = subprocess.Popen([SYSTEM_PYTHON, SINKS, os.path.join(folder, "sinks"), "--secret", WEBHOOK_SECRET],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sinks_log, text=True)
        server = None
        try:
            ports = json.loads(sinks.stdout.readline())
            config = os.path.join(folder, "notify.toml")
            write_notify_config(config, ports["smtp"], ports["webhook"])
            db = self.db if not self.db.startswith("sqlite:") else "sqlite:" + os.path.join(folder, "e2e.db")
            out = subprocess.run([BINARY, "--json", "admin", "create-clinic", "Delivery Clinic", "--db", db],
                                 cwd=folder, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            tok = json.loads(out.stdout)["api_token"]
            # serve's clock is frozen at 12:00; the procedure ended at 00:00 UTC, so "sunscreen allowed" (12 h) is due
            # now and the dispatcher inside serve sends it. In 2030, so no real-clock dispatcher sends these rows.
            server = Server(db, folder, args=["--notify-config", config, "--now", "2030-06-01T12:00Z"])
            body = {"reference": "D-1", "procedure_end": "2030-06-01T00:00Z", "zone": "UTC", "areas": ["face"],
                    "contact": "dana@example.org", "display_name": "Dana"}
            status, _, reg = call(server.base, "POST", "/api/v1/procedures", body, tok)
            self.assertEqual(status, 201, reg)
            pid = reg["procedure"]["id"]
            first = f"rem-{pid}-sunscreen_allowed"
            deadline = time.time() + 30
            while time.time() < deadline:
                sent = {(i["channel"], i["event_id"]) for i in
                        call(server.base, "GET", f"/api/v1/outbox?procedure={pid}&state=sent", token=tok)[2]["items"]}
                if sent == {("email", first), ("webhook", first)}:
                    break
                time.sleep(0.2)
            self.assertEqual(sent, {("email", first), ("webhook", first)})
            self.assertEqual(server.stop(), 0)
            server = None

            # Two weeks later, the rest through `aftercare dispatch` against the same database.
            env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")}
            out = subprocess.run([BINARY, "dispatch", "--db", db, "--notify-config", config, "--until-idle",
                                  "--now", "2030-06-15T12:00Z", "--worker-id", "api-test", "--quiet"], cwd=folder,
                                 env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            mine = f"rem-{pid}-"
            mails = [m for m in read_jsonl(os.path.join(folder, "sinks", "mail.jsonl")) if m["event_id"].startswith(mine)]
            hooks = [h for h in read_jsonl(os.path.join(folder, "sinks", "webhook.jsonl"))
                     if h["event_id"].startswith(mine)]
            server = Server(db, folder, args=["--notify-config", config, "--now", "2030-06-15T12:00Z"])
            items = call(server.base, "GET", f"/api/v1/outbox?procedure={pid}&limit=1000", token=tok)[2]["items"]
            sent = {i["event_id"] for i in items if i["channel"] == "email" and i["state"] == "sent"}
            self.assertGreater(len(sent), 5)
            self.assertEqual({m["event_id"] for m in mails}, sent)
            self.assertEqual({h["event_id"] for h in hooks},
                             {i["event_id"] for i in items if i["channel"] == "webhook" and i["state"] == "sent"})
            self.assertEqual({m["to"][0] for m in mails}, {"dana@example.org"})
            self.assertIn(f"rem-{pid}-book_next_treatment",
                          {i["event_id"] for i in items if i["state"] == "pending"})

            # The mail's one-click unsubscribe link withdraws what is still pending; its GET changes nothing.
            link = mails[0]["list_unsubscribe"].strip("<>")
            path = link[link.index("/u/"):]
            status, headers, page = call(server.base, "GET", path, headers={"Accept": "text/html"})
            self.assertEqual(status, 200)
            self.assertIn('<form method="post">', page)
            self.assertIn("pending", {i["state"] for i in
                                      call(server.base, "GET", f"/api/v1/outbox?procedure={pid}", token=tok)[2]["items"]})
            status, _, body = call(server.base, "POST", path, raw=b"List-Unsubscribe=One-Click",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200, body)
            self.assertGreater(body["withdrawn"], 0)
            states = {i["state"] for i in
                      call(server.base, "GET", f"/api/v1/outbox?procedure={pid}&limit=1000", token=tok)[2]["items"]}
            self.assertEqual(states, {"sent", "unsubscribed"})
            self.assertEqual(server.stop(), 0)
            logs = server.logs()
            server = None
            self.assertNotIn("dana@example.org", logs)
        finally:
            if server:
                server.stop()
            sinks.stdin.close()
            try:
                sinks.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sinks.kill()
                sinks.wait()
            sinks.stdout.close()
            sinks_log.close()


class CommandTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="aftercare-cmd-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")}

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def run_cli(self, *args, env=None, timeout=60):
        return subprocess.run([BINARY, *args], cwd=self.folder, env=dict(self.env, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)

    def test_unreachable_database_is_one_line_and_nonzero(self):
        out = self.run_cli("serve", "--listen", f"127.0.0.1:{free_port()}", "--db",
                           "postgresql://nobody@127.0.0.1:1/none?connect_timeout=3")
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)
        self.assertIn("cannot open the postgresql database", out.stderr)
        out = self.run_cli("serve", "--db", "mysql://x")
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(len(out.stderr.strip().splitlines()), 1, out.stderr)

    def test_default_database_and_settings_precedence(self):
        out = self.run_cli("--json", "admin", "create-clinic", "Default Place")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.folder, "var", "aftercare.db")))
        creds = json.loads(out.stdout)
        self.assertEqual(len(creds["api_token"]), 43)
        out = self.run_cli("admin", "create-clinic", "Text Place")
        self.assertIn("API token:", out.stdout)
        self.assertIn("only this once", out.stdout)
        # Flag over environment over config file.
        p_file, p_env, p_flag = free_port(), free_port(), free_port()
        config = os.path.join(self.folder, "aftercare.conf")
        with open(config, "w") as f:
            f.write(f"# test\nlisten = 127.0.0.1:{p_file}\ndb = sqlite:var/aftercare.db\n")
        for env, args, port in [({"AFTERCARE_CONFIG": config}, [], p_file),
                                ({"AFTERCARE_CONFIG": config, "AFTERCARE_LISTEN": f"127.0.0.1:{p_env}"}, [], p_env),
                                ({"AFTERCARE_LISTEN": f"127.0.0.1:{p_env}"},
                                 ["--config", config, "--listen", f"127.0.0.1:{p_flag}"], p_flag)]:
            proc = subprocess.Popen([BINARY, "serve", *args], cwd=self.folder, env=dict(self.env, **env),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                self.assertIn(f"http://127.0.0.1:{port}", line)
                self.assertIn("admin create-clinic", proc.stdout.readline() + proc.stdout.readline())
                deadline = time.time() + 20
                while True:
                    try:
                        status, _, body = call(f"http://127.0.0.1:{port}", "GET", "/readyz")
                        break
                    except OSError:
                        self.assertLess(time.time(), deadline)
                        time.sleep(0.05)
                self.assertEqual(status, 200)
                _, _, listed = call(f"http://127.0.0.1:{port}", "GET", "/api/v1/procedures",
                                    token=creds["api_token"])
                self.assertEqual(listed["total"], 0)
            finally:
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=20), 0)
                stderr = proc.stderr.read()
                proc.stdout.close()
                proc.stderr.close()
                self.assertIn('"event":"stopped"', stderr)
        with open(config, "w") as f:
            f.write("colour = blue\n")
        out = self.run_cli("serve", "--config", config)
        self.assertEqual(out.returncode, 2)
        self.assertIn("aftercare.conf:1", out.stderr)
        self.assertIn("serve", self.run_cli("serve", "--help").stdout)
        self.assertIn("AFTERCARE_DB", self.run_cli("serve", "--help").stdout)

    def test_backup_of_a_live_sqlite_database(self):
        db = "sqlite:" + os.path.join(self.folder, "live.db")
        creds = json.loads(self.run_cli("--json", "admin", "create-clinic", "Backed Up", "--db", db).stdout)
        server = Server(db, self.folder)
        try:
            reg = {"reference": "K-1", "procedure_end": iso(datetime.datetime.now(datetime.timezone.utc)),
                   "zone": "Europe/London", "areas": ["face"]}
            self.assertEqual(call(server.base, "POST", "/api/v1/procedures", reg, creds["api_token"])[0], 201)
            backup = os.path.join(self.folder, "backup.db")
            out = self.run_cli("admin", "backup", backup, "--db", db)
            self.assertEqual(out.returncode, 0, out.stderr)
            out = self.run_cli("admin", "backup", backup, "--db", db)
            self.assertEqual(out.returncode, 2)  # never overwrites
        finally:
            server.stop()
        restored = Server("sqlite:" + backup, self.folder)
        try:
            _, _, listed = call(restored.base, "GET", "/api/v1/procedures", token=creds["api_token"])
            self.assertEqual([i["reference"] for i in listed["items"]], ["K-1"])
        finally:
            restored.stop()
        out = self.run_cli("admin", "backup", "x.db", "--db", "postgresql://localhost/x")
        self.assertEqual(out.returncode, 2)
        self.assertIn("pg_dump", out.stderr)


if __name__ == "__main__":
    if not os.path.exists(BINARY):
        print(f"api_test: no binary at {BINARY}", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
