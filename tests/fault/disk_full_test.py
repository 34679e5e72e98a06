#!/usr/bin/env python3
"""Fault test: the SQLite database's disk fills up under `aftercare serve`, then space comes back.

    disk_full_test.py [--mode auto|tmpfs|fsize]

tmpfs: the database on a small tmpfs (needs the privilege to mount; CI containers often lack it), filled to the
       last byte with a filler file; freeing the filler clears the fault.
fsize: unprivileged stand-in: the server runs with RLIMIT_FSIZE (SIGXFSZ ignored), so a write past the limit fails
       with EFBIG as a full disk would; raising the limit of the running server (prlimit) clears the fault.
auto:  tmpfs when it can be mounted, else fsize (and says so).

Checked: while full, a registration is a 503 with {"error": {"code": "unavailable"}} and Retry-After (never a 500,
the server does not exit), the log names the database's reason, and nothing half-written is left (integrity check;
every procedure has its patient; the rows are exactly the acknowledged ones); patient reads and /healthz keep
working; staff reads are a 503 too when their audit entry cannot be written (no unaudited reads; under fsize a
small audit entry may still fit, so there a 200 is accepted). Once space is
back, registrations succeed again without a restart, and after a restart every acknowledged registration is there.
"""
import argparse
import contextlib
import datetime
import errno
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
from api_test import BINARY, Server, call, iso  # noqa: E402

MODE = "auto"
FSIZE_LIMIT = 512 * 1024  # bytes a file of the server's may reach in fsize mode
TMPFS_SIZE = "4m"


def try_mount_tmpfs(path):
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", path],
                         capture_output=True, text=True)
    return out.returncode == 0


def fill(folder):
    """Writes a filler file until the disk is full; returns its path."""
    path = os.path.join(folder, "filler")
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    return path


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="aftercare-disk-full-")
        self.disk = os.path.join(self.folder, "disk")
        os.makedirs(self.disk)
        self.mounted = False
        if MODE in ("auto", "tmpfs"):
            self.mounted = try_mount_tmpfs(self.disk)
            if not self.mounted and MODE == "tmpfs":
                self.skipTest("cannot mount a tmpfs here (no privilege)")
        self.mode = "tmpfs" if self.mounted else "fsize"
        print(f"disk_full_test: simulating a full disk with {self.mode}" +
              ("" if self.mounted or MODE == "fsize" else " (a tmpfs cannot be mounted here)"), file=sys.stderr)
        self.db_path = os.path.join(self.disk, "a.db")
        self.db = "sqlite:" + self.db_path
        out = subprocess.run([BINARY, "--json", "admin", "create-clinic", "Full Disk Clinic", "--db", self.db],
                             cwd=self.folder, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.token = json.loads(out.stdout)["api_token"]
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        if self.mounted:
            subprocess.run(["umount", self.disk], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self, fsize=None):
        if fsize is None:
            return Server(self.db, self.folder)

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))

        original = subprocess.Popen
        subprocess.Popen = lambda *args, **kwargs: original(*args, preexec_fn=limited, **kwargs)
        try:
            return Server(self.db, self.folder)
        finally:
            subprocess.Popen = original

    def register(self, reference):
        end = iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3))
        body = {"reference": reference, "procedure_end": end, "zone": "Europe/Berlin", "areas": ["face", "neck"],
                "display_name": "Disk " + reference, "contact": f"{reference.lower()}@example.org"}
        return call(self.server.base, "POST", "/api/v1/procedures", body, self.token)

    def rows(self):
        with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok", "the database is damaged")
            orphans = db.execute("SELECT COUNT(*) FROM procedure_record r LEFT JOIN patient p ON p.id = r.patient_id "
                                 "WHERE p.id IS NULL").fetchone()[0]
            self.assertEqual(orphans, 0, "a procedure without its patient (half-written)")
            return sorted(r[0] for r in db.execute("SELECT reference FROM patient"))

    def test_full_disk_then_space_again(self):
        self.server = self.start(FSIZE_LIMIT if self.mode == "fsize" else None)
        acknowledged = []
        for i in range(3):
            status, _, body = self.register(f"D-{i}")
            self.assertEqual(status, 201, body)
            acknowledged.append(f"D-{i}")
        patient = "/api/v1/p/" + body["patient_token"] + "/status"

        # The disk fills up.
        if self.mode == "tmpfs":
            filler = fill(self.disk)
            status, _, body = self.register("FULL-1")
        else:
            # Register until the WAL reaches the limit: every answer before the first 503 is a 201.
            for i in range(3, 400):
                status, _, body = self.register(f"D-{i}")
                if status != 201:
                    break
                acknowledged.append(f"D-{i}")
        self.assertEqual(status, 503, f"a registration on a full disk: {status} {body}")
        self.assertEqual(body["error"]["code"], "unavailable")
        for i in range(3):
            status, headers, body = self.register(f"FULL-{i + 2}")
            self.assertEqual(status, 503, f"a registration on a full disk: {status} {body}")
            self.assertEqual(body["error"]["code"], "unavailable", body)
            self.assertIn("Retry-After", headers)
            self.assertEqual(len(body["error"]["message"].splitlines()), 1)
            self.assertIn("database", body["error"]["message"])
        self.assertIsNone(self.server.proc.poll(), "the server exited on a full disk")
        logs = self.server.logs()
        self.assertIn('"event":"database_unavailable"', logs)
        self.assertTrue("disk is full" in logs or "disk I/O error" in logs,
                        "the log does not name the database's reason")
        # Reads that write nothing keep working; staff reads need an audit entry, so they wait for space too.
        self.assertEqual(call(self.server.base, "GET", patient)[0], 200, "a patient's status on a full disk")
        self.assertEqual(call(self.server.base, "GET", "/healthz")[0], 200)
        status, _, body = call(self.server.base, "GET", "/api/v1/procedures", token=self.token)
        if self.mode == "tmpfs" or status != 200:  # under fsize a small audit entry may still fit below the limit
            self.assertEqual((status, body["error"]["code"]), (503, "unavailable"),
                             "a staff read on a full disk (its audit entry cannot be written)")
        self.assertEqual(self.rows(), sorted(acknowledged), "rows other than the acknowledged registrations")

        # Space comes back: registrations succeed again, no restart needed.
        if self.mode == "tmpfs":
            os.remove(filler)
        else:
            resource.prlimit(self.server.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        status, _, body = self.register("AFTER-1")
        self.assertEqual(status, 201, f"the first registration once space is back: {status} {body}")
        acknowledged.append("AFTER-1")
        self.assertEqual(call(self.server.base, "GET", "/api/v1/procedures?limit=1", token=self.token)[0], 200)

        # Nothing acknowledged is lost, across a restart too.
        self.assertEqual(self.server.stop(), 0, "serve did not exit 0 after the fault")
        self.server = Server(self.db, self.folder)
        stored, offset = [], 0
        while True:
            status, _, page = call(self.server.base, "GET", f"/api/v1/procedures?limit=100&offset={offset}",
                                   token=self.token)
            self.assertEqual(status, 200, page)
            stored += [i["reference"] for i in page["items"]]
            offset += 100
            if offset >= page["total"]:
                break
        self.assertEqual(sorted(stored), sorted(acknowledged), "the stored procedures are not the acknowledged ones")
        self.assertEqual(self.rows(), sorted(acknowledged))
        print(f"disk_full_test: {len(acknowledged)} registrations acknowledged, all kept", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["auto", "tmpfs", "fsize"], default="auto")
    args, rest = parser.parse_known_args()
    MODE = args.mode
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
