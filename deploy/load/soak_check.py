"""The soak's checks (deploy/loadtest --soak): no lost writes, bounded worker memory, no 5xx.

Acknowledged creates are the 2xx POSTs nginx logged (the response left nginx); every one of them
must be in the store afterwards, and the store may hold at most the creates wrk issued, plus one
per connection: a create still in flight when a run stops (nginx logs 499) may land unacknowledged,
at the end of the soak or of the run before it. Prints a JSON verdict and
exits 1 if a check fails."""
import argparse
import json
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--access", required=True)
parser.add_argument("--wrk", required=True)
parser.add_argument("--rss-before", required=True)
parser.add_argument("--rss-after", required=True)
parser.add_argument("--store-before", nargs=2, type=int, required=True)
parser.add_argument("--store-after", nargs=2, type=int, required=True)
parser.add_argument("--rss-bound-mib", type=float, required=True)
parser.add_argument("--rss-per-record-kib", type=float, required=True)
parser.add_argument("--connections", type=int, required=True)
args = parser.parse_args()

CREATES = {"lp": re.compile(r"^/api/v3/partnerships$"), "pa": re.compile(r"^/v1/projects/\d+/partnerships$")}
acknowledged = {"lp": 0, "pa": 0}
statuses = {}
for line in open(args.access):
    entry = json.loads(line)
    status = entry["status"]
    statuses[str(status)] = statuses.get(str(status), 0) + 1
    if entry["method"] == "POST" and 200 <= status < 300:
        for family, pattern in CREATES.items():
            if pattern.match(entry["uri"]):
                acknowledged[family] += 1

wrk = json.load(open(args.wrk))
issued = {"lp": wrk["issued"]["lp_create"], "pa": wrk["issued"]["pa_create"]}
stored = {"lp": args.store_after[0] - args.store_before[0], "pa": args.store_after[1] - args.store_before[1]}
server_errors = sum(n for status, n in statuses.items() if status.startswith("5"))

def rss(path):
    return dict(line.split() for line in open(path) if line.strip())

before, after = rss(args.rss_before), rss(args.rss_after)
new_records = stored["lp"] + stored["pa"]
bound_kib = args.rss_bound_mib * 1024 + args.rss_per_record_kib * new_records
growth = {pid: int(after[pid]) - int(before[pid]) for pid in before if pid in after}
checks = {
    "no_lost_writes": all(acknowledged[f] <= stored[f] <= issued[f] + args.connections for f in acknowledged),
    # No worker died or was replaced during the soak (workers still leaving after the reload run
    # may be listed before and gone after).
    "no_worker_replaced": len(after) > 0 and set(after) <= set(before),
    "worker_rss_within_bound": bool(growth) and all(g <= bound_kib for g in growth.values()),
    "no_5xx": server_errors == 0 and wrk["non_2xx"] == 0,
}
report = {
    "checks": checks,
    "acknowledged_creates": acknowledged, "stored_creates": stored, "issued_creates": issued,
    "status_counts": statuses,
    "worker_rss_kib_before": before, "worker_rss_kib_after": after, "worker_rss_growth_kib": growth,
    "rss_bound_kib": bound_kib, "new_records": new_records,
    "requests": wrk["requests"], "rps": wrk["rps"], "p99_ms": wrk["p99_ms"],
}
print(json.dumps(report, indent=2))
sys.exit(0 if all(checks.values()) else 1)
