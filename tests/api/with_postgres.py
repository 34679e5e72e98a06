#!/usr/bin/env python3
"""Runs a command against a throw-away PostgreSQL server.

    with_postgres.py COMMAND [ARGS...]

initdb into a temporary folder, start postgres listening only on a Unix socket in that folder, run COMMAND with
AFTERCARE_TEST_DATABASE set to its URL, stop the server and delete the folder. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root). Exit code: COMMAND's, or 77 (skip) when PostgreSQL is not
installed.
"""
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


@contextlib.contextmanager
def throwaway_postgres():
    """Yields a libpq URL of a fresh, empty PostgreSQL server; everything is removed afterwards."""
    with throwaway_postgres_server() as server:
        yield server.url


class PostgresServer:
    """A throw-away server: its URL, and pg_ctl to stop, start or restart it (tests/fault)."""

    def __init__(self, url, pg_ctl, data, log, options, prefix):
        self.url, self._pg_ctl, self._data, self._log, self._options, self._prefix = \
            url, pg_ctl, data, log, options, prefix

    def ctl(self, action, *extra):
        args = [self._pg_ctl, "-D", self._data, "-l", self._log, "-w", "-t", "60"]
        if action in ("start", "restart"):
            args += ["-o", self._options]
        subprocess.run(self._prefix + args + list(extra) + [action], check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def throwaway_postgres_server():
    """Yields a PostgresServer on a fresh, empty PostgreSQL server; everything is removed afterwards."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL is not installed (initdb/pg_ctl not found)")
    folder = tempfile.mkdtemp(prefix="aftercare-pg-")
    data = os.path.join(folder, "data")
    prefix = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        os.chmod(folder, 0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = 20000 + os.getpid() % 20000
    log = os.path.join(folder, "server.log")
    started = False
    try:
        subprocess.run(prefix + [initdb, "-D", data, "-A", "trust", "-U", "aftercare", "-E", "UTF8",
                                 "--no-sync"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        options = f"-k {folder} -c listen_addresses='' -p {port} -c fsync=off"
        subprocess.run(prefix + [pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"],
                       check=True, stdout=subprocess.DEVNULL)
        started = True
        yield PostgresServer(f"postgresql://aftercare@/postgres?host={folder}&port={port}", pg_ctl, data, log,
                             options, prefix)
    finally:
        if started:
            subprocess.run(prefix + [pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with throwaway_postgres() as url:
            env = dict(os.environ, AFTERCARE_TEST_DATABASE=url)
            return subprocess.run(argv[1:], env=env).returncode
    except FileNotFoundError as e:
        print(f"with_postgres: skipped: {e}", file=sys.stderr)
        return 77


if __name__ == "__main__":
    sys.exit(main(sys.argv))
