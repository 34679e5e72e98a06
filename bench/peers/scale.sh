#!/usr/bin/env bash
# Scale runs: bench/scale_bench on SQLite (a temporary file) and on a throw-away PostgreSQL (Unix socket only, in a
# temporary folder), N registered procedures each. Writes OUT_DIR/scale_sqlite.{txt,json},
# OUT_DIR/scale_postgresql.{txt,json} and the combined table OUT_DIR/scale.md.
# Usage: bench/peers/scale.sh BUILD_DIR OUT_DIR   (called by scripts/bench; stops everything it starts)
# Environment: AFTERCARE_SCALE_N (default 100000; 1000000 for the full issue #8 size, about an hour here),
#              AFTERCARE_SCALE_API_N (default 5000: registered through the API, the rest are copies of them),
#              AFTERCARE_SCALE_BACKENDS (default "sqlite postgresql").
set -euo pipefail
build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/scale_bench
n=${AFTERCARE_SCALE_N:-100000}
api_n=${AFTERCARE_SCALE_API_N:-5000}
backends=" ${AFTERCARE_SCALE_BACKENDS:-sqlite postgresql} "
mkdir -p "$out"
tmp=$(mktemp -d /tmp/aftercare-scale-XXXXXX)
pg_data=
pg_ctl=
as_pg=()
cleanup() {
  if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

args=(--n "$n" --api-n "$api_n")
for b in $backends; do rm -f "$out/scale_$b.json" "$out/scale_$b.txt"; done  # no stale rows in scale.md

if [[ $backends == *" sqlite "* ]]; then
  echo "-- SQLite (N = $n)"
  "$bin" --db "sqlite:$tmp/scale.db" "${args[@]}" --json "$out/scale_sqlite.json" | tee "$out/scale_sqlite.txt"
  rm -f "$tmp"/scale.db*
fi

# PostgreSQL as deployed (fsync on), except synchronous_commit = off: the same durability as SQLite's WAL with
# synchronous = NORMAL (a power cut may lose the last commits, never corrupt).
pg_bin() { command -v "$1" 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1; }
initdb=$(pg_bin initdb)
pg_ctl=$(pg_bin pg_ctl)
if [[ $backends != *" postgresql "* ]]; then
  :
elif [ -z "$initdb" ] || [ -z "$pg_ctl" ]; then
  echo "-- PostgreSQL: skipped (initdb/pg_ctl not found; scripts/install-deps installs postgresql)"
else
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$tmp"
    as_pg=(runuser -u postgres --)
  fi
  pg_data=$tmp/pgdata
  port=$(( 20000 + $$ % 20000 ))
  "${as_pg[@]}" "$initdb" -D "$pg_data" -A trust -U aftercare -E UTF8 >/dev/null
  "${as_pg[@]}" "$pg_ctl" -D "$pg_data" -l "$tmp/pg.log" -w -t 60 \
    -o "-k $tmp -c listen_addresses='' -p $port -c synchronous_commit=off" start >/dev/null
  echo "-- PostgreSQL (N = $n)"
  "$bin" --db "postgresql://aftercare@/postgres?host=$tmp&port=$port" "${args[@]}" \
    --json "$out/scale_postgresql.json" | tee "$out/scale_postgresql.txt"
fi

python3 "$here/scale_table.py" "$out" | tee "$out/scale.md"
