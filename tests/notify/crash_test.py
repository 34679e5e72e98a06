#!/usr/bin/python3
"""Crash test: `aftercare dispatch` is killed with SIGKILL at random moments, round after round, while reminders are
due; then one clean run finishes. Every reminder must have reached the SMTP server and the webhook receiver
(distinct ids = expected ids: nothing lost), and the only duplicates are resends across a kill: at most one per
kill, byte-identical mail (same Message-ID) and the same webhook body and event id.

    crash_test.py --aftercare BIN --seed BIN [--rounds N] [--procedures N] [--workers N] [--seed-value N]

The database is AFTERCARE_TEST_DATABASE (tests/api/with_postgres.py sets it; two workers then share the outbox with
FOR UPDATE SKIP LOCKED) or a temporary SQLite file. The dispatcher's clock is injected (--now), so nothing waits for
real hours. Run with /usr/bin/python3 (Debian's python3-aiosmtpd).
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "crash-test-webhook-secret-0123456789"


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aftercare", required=True)
    parser.add_argument("--seed", required=True)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--procedures", type=int, default=12)
    parser.add_argument("--workers", type=int, default=0, help="0: 2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--seed-value", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed_value if args.seed_value is not None else int(time.time())
    rng = random.Random(seed)
    print(f"crash_test: random seed {seed}", flush=True)

    folder = tempfile.mkdtemp(prefix="aftercare-crash-")
    sinks = None
    try:
        url = os.environ.get("AFTERCARE_TEST_DATABASE") or f"sqlite:{folder}/db/aftercare.db"
        postgres = not url.startswith("sqlite")
        workers = args.workers or (2 if postgres else 1)

        sinks = subprocess.Popen([sys.executable, os.path.join(HERE, "sinks.py"), os.path.join(folder, "sinks"),
                                  "--secret", SECRET], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=open(os.path.join(folder, "sinks.log"), "w"), text=True)
        ports = json.loads(sinks.stdout.readline())

        seeded = subprocess.run([args.seed, url, str(args.procedures)], check=True, capture_output=True, text=True)
        plan = json.loads(seeded.stdout)
        expected = set(plan["expected"])
        now = plan["all_due_by"]

        config = os.path.join(folder, "notify.toml")
        with open(config, "w") as f:
            f.write(f"""format_version = 1
[smtp]
url = "smtp://127.0.0.1:{ports['smtp']}"
tls = "none"
from = "Crash Test Clinic <reminders@crash.example>"
timeout_seconds = 10
[webhook]
url = "http://127.0.0.1:{ports['webhook']}/hook"
secret = "{SECRET}"
[retry]
first_delay = 1
max_delay = 2
max_attempts = 100
""")
        command = [args.aftercare, "dispatch", "--db", url, "--notify-config", config, "--now", now,
                   "--poll-ms", "20", "--batch", "5", "--quiet"]

        kills = 0
        progress_rounds = 0
        delivered_before = 0
        for round_number in range(args.rounds):
            procs = [subprocess.Popen(command + ["--worker-id", f"w{w}"]) for w in range(workers)]
            deadlines = [time.monotonic() + rng.uniform(0.02, 0.6) for _ in procs]
            for proc, deadline in sorted(zip(procs, deadlines), key=lambda x: x[1]):
                time.sleep(max(0.0, deadline - time.monotonic()))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                proc.wait()
            delivered = {m["event_id"] for m in read_jsonl(os.path.join(folder, "sinks", "mail.jsonl"))}
            if len(delivered) > delivered_before:
                progress_rounds += 1
            delivered_before = len(delivered)
            if round_number % 10 == 9:
                print(f"crash_test: round {round_number + 1}: {kills} kills, {len(delivered)}/{len(expected)} "
                      "mails so far", flush=True)

        # A clean finish: every worker id once more (each takes back its leases), until nothing is due.
        for w in range(workers):
            subprocess.run(command + ["--worker-id", f"w{w}", "--until-idle"], check=True, timeout=600)

        mails = read_jsonl(os.path.join(folder, "sinks", "mail.jsonl"))
        hooks = read_jsonl(os.path.join(folder, "sinks", "webhook.jsonl"))
        failures = []
        for name, records, key in (("mail", mails, "raw"), ("webhook", hooks, "body")):
            ids = collections.Counter(r["event_id"] for r in records)
            missing = expected - set(ids)
            extra = set(ids) - expected
            if missing:
                failures.append(f"{name}: {len(missing)} reminders never arrived, e.g. {sorted(missing)[:3]}")
            if extra:
                failures.append(f"{name}: unexpected ids {sorted(extra)[:3]}")
            duplicates = sum(n - 1 for n in ids.values())
            first = {}
            for r in records:
                if r["event_id"] in first and first[r["event_id"]] != r[key]:
                    failures.append(f"{name}: the resent {r['event_id']} differs from the first")
                first.setdefault(r["event_id"], r[key])
            print(f"crash_test: {name}: {len(ids)} distinct of {len(expected)} expected, {duplicates} duplicates",
                  flush=True)
            if name == "mail":
                mail_duplicates = duplicates
            else:
                hook_duplicates = duplicates
        # One message is in flight per worker at a kill: at most one resend per kill over both channels.
        if mail_duplicates + hook_duplicates > kills:
            failures.append(f"{mail_duplicates + hook_duplicates} duplicates but only {kills} kills")
        for m in mails:
            if m["message_id"] != f"<{m['event_id']}@crash.example>":
                failures.append(f"mail {m['event_id']}: Message-ID {m['message_id']}")
                break
        print(f"crash_test: {args.rounds} rounds ({progress_rounds} delivering), {kills} kills, {workers} worker(s), "
              f"{'postgresql' if postgres else 'sqlite'}", flush=True)
        if progress_rounds < min(5, args.rounds):
            failures.append(f"only {progress_rounds} rounds delivered anything before their kill")
        for f in failures:
            print(f"crash_test: FAIL: {f}", flush=True)
        return 1 if failures else 0
    finally:
        if sinks:
            sinks.stdin.close()
            try:
                sinks.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sinks.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
