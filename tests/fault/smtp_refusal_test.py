#!/usr/bin/python3
"""Fault test: the mail server refuses, then recovers, while `aftercare serve --notify-config` sends reminders.

The dispatcher inside serve runs on the real clock (retry after 1 s, at most 2 s), so the test waits seconds, not
hours. Three faults, one after the other, against the same outbox:

1. Nothing listens on the SMTP port (connection refused): every due mail stays pending, is retried, and the outbox
   (GET /api/v1/outbox and `aftercare outbox`) says why.
2. The mail server answers 451 (temporary) to every recipient: still pending and retried, the outbox shows the
   451; a recipient it answers 550 (permanent) is marked failed at once, with the 550, and not retried.
3. The mail server accepts again: every pending mail that is due is delivered exactly once; nothing is lost; the
   reminders not yet due are still pending.

tests/notify/delivery_test.cc covers each SMTP outcome's classification on its own (550 permanent, wrong password,
untrusted certificate, no server); this drives the whole path through the server across a recovery.
Run with /usr/bin/python3 (Debian's python3-aiosmtpd). The database is AFTERCARE_TEST_DATABASE or a SQLite file.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from api_test import BINARY, Server, call, free_port  # noqa: E402

SINKS = os.path.join(HERE, "..", "notify", "sinks.py")
PERMANENT = "perm@example.org"


class SmtpRefusalTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="aftercare-smtp-fault-")
        self.db = os.environ.get("AFTERCARE_TEST_DATABASE") or "sqlite:" + os.path.join(self.folder, "a.db")
        out = subprocess.run([BINARY, "--json", "admin", "create-clinic", "Refused Mail Clinic", "--db", self.db],
                             cwd=self.folder, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.clinic = json.loads(out.stdout)
        self.smtp_port = free_port()
        self.config = os.path.join(self.folder, "notify.toml")
        with open(self.config, "w") as f:
            f.write(f"""format_version = 1
[smtp]
url = "smtp://127.0.0.1:{self.smtp_port}"
tls = "none"
from = "Fault Test Clinic <reminders@fault-test.example>"
timeout_seconds = 5
[retry]
first_delay = 1
max_delay = 2
max_attempts = 100
""")
        self.sinks = None
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        if self.sinks:
            self.sinks.stdin.close()
            try:
                self.sinks.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sinks.kill()
                self.sinks.wait()
            self.sinks.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def outbox(self, pid):
        status, _, body = call(self.server.base, "GET", f"/api/v1/outbox?procedure={pid}&limit=1000",
                               token=self.clinic["api_token"])
        self.assertEqual(status, 200, body)
        return body["items"]

    def due(self, pid):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [i for i in self.outbox(pid) if i["due"] <= now]

    def wait(self, what, predicate, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.25)
        self.fail(f"waited {seconds} s for {what}")

    def register(self, reference, contact):
        # Ended 12 h less 2 s ago: the first reminder (sunscreen allowed, 12 h) is due in 2 s, the rest in days. In
        # a zone where it is early afternoon now, so no quiet hours hold it back.
        now = datetime.datetime.now(datetime.timezone.utc)
        end = now - datetime.timedelta(hours=12) + datetime.timedelta(seconds=2)
        offset = (13 - now.hour) % 24
        offset = offset - 24 if offset > 12 else offset
        zone = f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5
        body = {"reference": reference, "procedure_end": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "zone": zone,
                "areas": ["face"], "contact": contact}
        status, _, reg = call(self.server.base, "POST", "/api/v1/procedures", body, self.clinic["api_token"])
        self.assertEqual(status, 201, reg)
        return reg["procedure"]["id"]

    def cli_outbox(self, pid):
        out = subprocess.run([BINARY, "outbox", "--db", self.db, "--clinic", str(self.clinic["clinic_id"]),
                              "--procedure", str(pid)], cwd=self.folder, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_refused_then_temporary_then_recovered(self):
        self.server = Server(self.db, self.folder, args=["--notify-config", self.config])
        ok = self.register("M-OK", "ok@example.org")
        perm = self.register("M-PERM", PERMANENT)
        self.wait("the first reminder to fall due", lambda: self.due(ok) and self.due(perm), 10)

        # 1. Connection refused: pending, retried, the reason shown.
        self.wait("retries while the mail server is down",
                  lambda: all(i["state"] == "pending" and i["attempts"] >= 2 for i in self.due(ok) + self.due(perm)))
        for item in self.due(ok):
            self.assertIn("connect", item["last_error"].lower(), f"the outbox does not say why: {item}")
        text = self.cli_outbox(ok)
        self.assertIn("pending", text)
        self.assertIn("connect", text.lower(), f"`aftercare outbox` does not say why: {text}")

        # 2. The mail server is back but answers 451 to everyone (and 550 to one recipient).
        tempfail = os.path.join(self.folder, "tempfail")
        open(tempfail, "w").close()
        sinks_dir = os.path.join(self.folder, "sinks")
        with open(os.path.join(self.folder, "sinks.log"), "w") as log:
            self.sinks = subprocess.Popen([sys.executable, SINKS, sinks_dir, "--smtp-port", str(self.smtp_port),
                                           "--reject-rcpt", PERMANENT, "--tempfail-file", tempfail],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.assertEqual(json.loads(self.sinks.stdout.readline())["smtp"], self.smtp_port)
        self.wait("a 451 in the outbox", lambda: all("451" in i["last_error"] for i in self.due(ok)))
        self.assertEqual({i["state"] for i in self.due(ok)}, {"pending"}, "a 451 is not retried")
        self.wait("the 550 marked failed", lambda: all(i["state"] == "failed" for i in self.due(perm)))
        failed = self.due(perm)
        for item in failed:
            self.assertIn("550", item["last_error"], f"the outbox does not show the 550: {item}")
        attempts = {i["event_id"]: i["attempts"] for i in failed}
        self.assertIn("failed", self.cli_outbox(perm))
        self.assertIn("550", self.cli_outbox(perm))

        # 3. The mail server accepts again: everything due is delivered, once; nothing else changes.
        os.remove(tempfail)
        self.wait("delivery after recovery", lambda: all(i["state"] == "sent" for i in self.due(ok)))
        time.sleep(3)  # a retry round more: nothing is sent twice, the failed ones are not retried
        due = self.due(ok)
        self.assertTrue(all(i["attempts"] >= 3 and i["last_error"] == "" for i in due), due)
        with open(os.path.join(sinks_dir, "mail.jsonl")) as f:
            mails = [json.loads(line) for line in f if line.strip()]
        delivered = [m["event_id"] for m in mails]
        self.assertEqual(sorted(delivered), sorted(i["event_id"] for i in due if i["channel"] == "email"),
                         "delivered mails are not exactly the due reminders, once each")
        self.assertTrue(all(m["to"] == ["ok@example.org"] for m in mails), "a mail went to the refused address")
        self.assertEqual({i["event_id"]: i["attempts"] for i in self.due(perm)}, attempts,
                         "a permanent failure was retried")
        later = [i for i in self.outbox(ok) if i not in due]
        self.assertTrue(later, "no reminder is still ahead")
        self.assertEqual({i["state"] for i in later if i["event_id"] not in {d["event_id"] for d in due}},
                         {"pending"}, "a reminder not yet due changed")
        _, _, metrics = call(self.server.base, "GET", "/metrics")
        self.assertIn('aftercare_outbox_reminders{state="failed"}', metrics)
        self.assertEqual(self.server.stop(), 0)
        self.server = None


if __name__ == "__main__":
    if subprocess.run([sys.executable, "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        print("smtp_refusal_test: skipped: python3-aiosmtpd is not installed (scripts/install-deps)", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
