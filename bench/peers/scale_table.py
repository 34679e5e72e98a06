#!/usr/bin/env python3
"""The tables of the scale runs, in Markdown, from OUT_DIR/scale_{sqlite,postgresql}.json (bench/peers/scale.sh).

    scale_table.py OUT_DIR
"""
import json
import os
import sys


def load(out, backend):
    path = os.path.join(out, f"scale_{backend}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def us(x):
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    runs = {name: load(out, key) for name, key in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql"))}
    runs = {k: v for k, v in runs.items() if v}
    if not runs:
        print("scale_table: no scale_*.json in " + out, file=sys.stderr)
        return 1
    print("| back end | procedures | outbox rows | database | registrations/s (1,000 more, at this size) "
          "| status p50 / p99 | token lookup p50 / p99 | dispatch round p50 / p99 | idle poll p50 / p99 "
          "| claim uses an index |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, records in runs.items():
        for r in records:
            if r["kind"] != "checkpoint":
                continue
            print(f"| {name} | {r['procedures']:,} | {r['outbox_rows']:,} | {r['database_bytes'] / 2**20:,.0f} MiB "
                  f"| {r['registration_per_second']:,.0f} | {us(r['total_us_median'])} / {us(r['total_us_p99'])} "
                  f"| {us(r['lookup_us_median'])} / {us(r['lookup_us_p99'])} "
                  f"| {us(r['round_us_median'])} / {us(r['round_us_p99'])} "
                  f"| {us(r['idle_poll_us_median'])} / {us(r['idle_poll_us_p99'])} "
                  f"| {'yes' if r['claim_uses_index'] else 'NO'} |")
    print()
    print("| back end | largest / smallest table | dispatch round (median) | idle poll (median) "
          "| status (median) | registrations/s |")
    print("|---|---|---|---|---|---|")
    for name, records in runs.items():
        points = [r for r in records if r["kind"] == "checkpoint"]
        if len(points) < 2:
            continue
        a, b = points[0], points[-1]
        print(f"| {name} | {b['procedures'] / a['procedures']:.0f}× ({a['procedures']:,} → {b['procedures']:,}) "
              f"| {ratio(b['round_us_median'], a['round_us_median'])} "
              f"| {ratio(b['idle_poll_us_median'], a['idle_poll_us_median'])} "
              f"| {ratio(b['total_us_median'], a['total_us_median'])} "
              f"| {ratio(b['registration_per_second'], a['registration_per_second'])} |")
    print()
    for name, records in runs.items():
        points = [r for r in records if r["kind"] == "checkpoint"]
        memory = [r for r in records if r["kind"] == "plan_memory"]
        first = points[0]
        size = ""
        if first.get("api_database_bytes"):
            size = (f"{first['api_database_bytes'] / first['api_registered'] / 1024:,.1f} KiB of database per "
                    f"procedure with its outbox rows in full (the copies leave out the mail text and payload); ")
        print(f"{name}: {first['api_registered']:,} procedures registered through the API at "
              f"{first['registration_first_per_second']:,.0f}/s from an empty table; {size}"
              f"{first['due_rows']:,} reminders due in every dispatch round.")
        print(f"Whole-outbox operations at {points[-1]['procedures']:,}: the /metrics count by state "
              f"{us(points[-1].get('count_outbox_us', 0))}, a dispatcher's RecoverLeases at start "
              f"{us(points[-1].get('recover_leases_us', 0))}.")
        if memory:
            m = memory[0]
            print(f"Memory per compiled plan: {m['heap_bytes_per_plan'] / 1024:.1f} KiB heap "
                  f"({m['rss_bytes_per_plan'] / 1024:.1f} KiB RSS) over {m['plans']:,} plans.")
        print(f"Claim query plan at {points[-1]['procedures']:,}:")
        print("```")
        print(points[-1]["claim_plan"].rstrip())
        print("```")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
