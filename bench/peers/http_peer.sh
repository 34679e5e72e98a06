#!/usr/bin/env bash
# HTTP peer: the patient status endpoint of `aftercare serve` against fastify + better-sqlite3 answering the same
# endpoint (the same body: checked first) from the same SQLite file, both loaded by wrk from localhost at several
# connection counts.
# Usage: bench/peers/http_peer.sh BUILD_DIR OUT_DIR   (called by scripts/bench; stops everything it starts)
set -euo pipefail
build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/tools/aftercare/aftercare
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

ours=$(free_port)
"$bin" serve --db "sqlite:$tmp/aftercare.db" --listen "127.0.0.1:$ours" --rate-limit 0 >"$tmp/serve.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$ours/healthz"
token=$("$bin" --json admin create-clinic "Bench clinic" --db "sqlite:$tmp/aftercare.db" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["api_token"])')
end=$(date -u -d '-30 hours' +%Y-%m-%dT%H:%M)Z
link=$(curl -fsS -X POST "http://127.0.0.1:$ours/api/v1/procedures" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' \
  -d "{\"reference\": \"B-1\", \"procedure_end\": \"$end\", \"zone\": \"America/New_York\", \"areas\": [\"face\"]}")
patient=$(echo "$link" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["patient_link"].rstrip("/").split("/")[-1])')
"$bin" --json plan --procedure-end "$end" --tz America/New_York --areas face >"$tmp/plan.json"

theirs=$(free_port)
node "$here/fastify_status.js" "$tmp/aftercare.db" "$theirs" "$tmp/plan.json" &
pids+=($!)
wait_up "http://127.0.0.1:$theirs/api/v1/p/$patient/status"

# Both must answer the same body (all but the moment of asking) before their speed means anything.
python3 - "http://127.0.0.1:$ours/api/v1/p/$patient/status" "http://127.0.0.1:$theirs/api/v1/p/$patient/status" <<'PY' |
import json, sys, urllib.request
bodies = []
for url in sys.argv[1:]:
    body = json.load(urllib.request.urlopen(url))
    bodies.append(body)
    body.pop("at"), body.pop("hours_since_procedure")
sizes = [len(json.dumps(b)) for b in bodies]
if bodies[0] != bodies[1]:
    print("http_peer: the two servers answer different bodies", file=sys.stderr)
    sys.exit(1)
print(f"same body from both (about {sizes[0]} bytes of JSON)")
PY
  tee "$out/http_peer_equal.txt"

printf '%-10s %6s %12s %10s %10s\n' server conns req/s p50 p99 | tee "$out/http_peer.txt"
for conns in 1 16 64; do
  for side in aftercare fastify; do
    port=$ours
    [ "$side" = fastify ] && port=$theirs
    threads=$(( conns < 2 ? 1 : 2 ))
    wrk -t"$threads" -c"$conns" -d10s --latency "http://127.0.0.1:$port/api/v1/p/$patient/status" >"$tmp/wrk.txt"
    rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$tmp/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/wrk.txt")
    printf '%-10s %6s %12s %10s %10s %s\n' "$side" "$conns" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}" |
      tee -a "$out/http_peer.txt"
  done
done
