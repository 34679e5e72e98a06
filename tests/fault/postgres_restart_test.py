#!/usr/bin/env python3
"""Fault test: PostgreSQL goes away under load and comes back; `aftercare serve` is not restarted.

A throw-away PostgreSQL (tests/api/with_postgres.py) serves `aftercare serve`; four client threads register
procedures and read statuses and lists in a loop. PostgreSQL is stopped (immediate mode: a crash, no checkpoint),
left down for OUTAGE seconds, and started again. Checked:

- every answer is a 200/201, or a 503 with {"error": {"code": "unavailable"}} and Retry-After: never a 500, never
  a dropped connection, and /readyz is 503 during the outage;
- the server recovers by itself: within RECOVERY seconds of PostgreSQL being back, registrations and reads succeed
  again, on the same process;
- no acknowledged (201) registration is lost, and nothing else was stored: the procedures in the database are the
  201s plus at most the requests that failed at the very moment the connection broke (committed, answer lost).

Exit 77 (skip) when PostgreSQL is not installed.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from api_test import BINARY, Server, call, iso  # noqa: E402
from with_postgres import pg_bin, throwaway_postgres_server  # noqa: E402

OUTAGE = 3.0      # seconds PostgreSQL is down
RECOVERY = 10.0   # seconds the server may take to answer again once it is back


class PostgresRestartTest(unittest.TestCase):
    def test_restart_under_load(self):
        try:
            pg_context = throwaway_postgres_server()
            pg = pg_context.__enter__()
        except FileNotFoundError as e:
            self.skipTest(str(e))
        folder = tempfile.mkdtemp(prefix="aftercare-pg-fault-")
        server = None
        try:
            out = subprocess.run([BINARY, "--json", "admin", "create-clinic", "Restart Clinic", "--db", pg.url],
                                 cwd=folder, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            token = json.loads(out.stdout)["api_token"]
            server = Server(pg.url, folder)
            now = datetime.datetime.now(datetime.timezone.utc)
            end = iso(now - datetime.timedelta(hours=2))
            status, _, first = call(server.base, "POST", "/api/v1/procedures",
                                    {"reference": "PG-0", "procedure_end": end, "zone": "UTC", "areas": ["face"]},
                                    token)
            self.assertEqual(status, 201, first)
            status_path = "/api/v1/p/" + first["patient_token"] + "/status"

            lock = threading.Lock()
            log = []  # (time, kind, reference or None, status, error code, Retry-After)
            stop = threading.Event()

            def client(n):
                i = 0
                while not stop.is_set():
                    i += 1
                    kind = ("register", "status", "list")[i % 3]
                    reference = f"PG-{n}-{i}" if kind == "register" else None
                    try:
                        if kind == "register":
                            r = call(server.base, "POST", "/api/v1/procedures",
                                     {"reference": reference, "procedure_end": end, "zone": "UTC",
                                      "areas": ["face"]}, token)
                        elif kind == "status":
                            r = call(server.base, "GET", status_path)
                        else:
                            r = call(server.base, "GET", "/api/v1/procedures?limit=1", token=token)
                        code = r[0]
                        error = r[2]["error"]["code"] if isinstance(r[2], dict) and "error" in r[2] else None
                        retry = r[1].get("Retry-After")
                    except (OSError, urllib.error.URLError) as e:
                        code, error, retry = "dropped", str(e), None
                    with lock:
                        log.append((time.monotonic(), kind, reference, code, error, retry))
                    time.sleep(0.01)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            try:
                time.sleep(1.5)
                down_at = time.monotonic()
                pg.ctl("stop", "-m", "immediate")
                time.sleep(OUTAGE / 2)
                ready_during = call(server.base, "GET", "/readyz")
                time.sleep(OUTAGE / 2)
                pg.ctl("start")
                up_at = time.monotonic()
                # Run on until every kind of request has succeeded again after the restart, or RECOVERY passes.
                deadline = up_at + RECOVERY + 2
                while time.monotonic() < deadline:
                    with lock:
                        recent = {(k, c) for t0, k, _, c, _, _ in log if t0 > up_at}
                    if {("register", 201), ("status", 200), ("list", 200)} <= recent:
                        break
                    time.sleep(0.2)
                time.sleep(1)
            finally:
                stop.set()
                for t in threads:
                    t.join()

            self.assertIsNone(server.proc.poll(), "the server exited")
            self.assertEqual(ready_during[0], 503, f"/readyz during the outage: {ready_during}")
            codes = {c for _, _, _, c, _, _ in log}
            self.assertLessEqual(codes, {200, 201, 503}, f"answers other than 200, 201 and 503: {codes}")
            outage = [e for e in log if e[3] == 503]
            self.assertTrue(outage, "no request saw the outage")
            for _, kind, _, _, error, retry in outage:
                self.assertEqual(error, "unavailable", f"a 503 without the 'unavailable' error ({kind})")
                self.assertIsNotNone(retry, f"a 503 without Retry-After ({kind})")
            self.assertTrue(all(down_at - 0.5 <= e[0] <= up_at + RECOVERY for e in outage),
                            "503s outside the outage and its recovery")
            for kind, ok in [("register", 201), ("status", 200), ("list", 200)]:
                after = [t0 for t0, k, _, c, _, _ in log if k == kind and c == ok and t0 > up_at]
                self.assertTrue(after, f"{kind} never succeeded again after PostgreSQL came back")
                self.assertLess(after[0] - up_at, RECOVERY, f"{kind} took {after[0] - up_at:.1f} s to recover")
            self.assertEqual(call(server.base, "GET", "/readyz")[0], 200, "/readyz after recovery")

            acknowledged = {ref for _, k, ref, c, _, _ in log if k == "register" and c == 201} | {"PG-0"}
            unanswered = {ref for _, k, ref, c, _, _ in log if k == "register" and c != 201}
            stored, offset = set(), 0
            while True:
                status, _, page = call(server.base, "GET", f"/api/v1/procedures?limit=100&offset={offset}",
                                       token=token)
                self.assertEqual(status, 200, page)
                stored |= {i["reference"] for i in page["items"]}
                offset += 100
                if offset >= page["total"]:
                    break
            self.assertEqual(acknowledged - stored, set(), "acknowledged registrations were lost")
            self.assertLessEqual(stored - acknowledged, unanswered, "stored registrations nobody sent")
            print(f"postgres_restart_test: {len(log)} requests, {len(outage)} answered 503, "
                  f"{len(acknowledged)} registrations acknowledged, {len(stored - acknowledged)} committed as the "
                  f"connection broke", file=sys.stderr)
            self.assertEqual(server.stop(), 0)
            server = None
        finally:
            if server:
                if server.proc.poll() is not None:
                    print(f"postgres_restart_test: serve exited with {server.proc.returncode}; its log ends:\n" +
                          "\n".join(server.logs().splitlines()[-15:]), file=sys.stderr)
                server.stop()
            pg_context.__exit__(None, None, None)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if not pg_bin("initdb") or not pg_bin("pg_ctl"):
        print("postgres_restart_test: skipped: PostgreSQL is not installed (initdb/pg_ctl not found)", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
