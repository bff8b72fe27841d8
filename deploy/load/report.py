"""Turns one deploy/loadtest run (wrk/*.json summaries) into report.json and report.md, with each
scenario's ratio to the references measured in the same run (the static file, the C libfcgi hello
and the PHP-FPM hello; each the mean of its runs before and after the scenarios), and the goals of
issues 8 and 15.
Exits 1 if any measured run had a non-2xx response or a socket error."""
import argparse
import datetime
import glob
import json
import os
import time

parser = argparse.ArgumentParser()
for name in ("run", "connections", "workers", "duration", "response-bytes", "list-bytes", "nproc", "cpu", "seed", "nginx"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()

runs = {os.path.basename(p)[:-5]: json.load(open(p)) for p in sorted(glob.glob(os.path.join(args.run, "wrk", "*.json")))}


def fsync_rate(directory, seconds=2.0):
    """Appends of 200 bytes, each followed by fdatasync, in one process: the ceiling for durable
    writes that are each fsynced on their own (the store's journal does exactly this)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    count, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        os.write(fd, b"x" * 199 + b"\n")
        os.fdatasync(fd)
        count += 1
    elapsed = time.monotonic() - start
    os.close(fd)
    os.unlink(path)
    return count / elapsed


def mean(*names):
    values = [runs[n]["rps"] for n in names if n in runs]
    return sum(values) / len(values) if values else None


# Runs during which deploy/stack reload replaces nginx's workers. The old workers close their idle
# keep-alive connections; a request wrk writes on one at that moment ends in a read error (the
# keep-alive race of RFC 9112 9.3.1, which lets a client retry; nginx has read nothing of it). At most
# one per connection is expected, so up to --connections read errors there are not failures.
RELOADING = {"reload", "stall"}


def unexplained_socket_errors(name, r):
    errors = dict(r["socket_errors"])
    if name in RELOADING:
        errors["read"] = max(0, errors.get("read", 0) - int(args.connections))
    return sum(errors.values())


static, hello, php = mean("static-1", "static-2"), mean("hello-1", "hello-2"), mean("php-1", "php-2")
# The same hello worlds behind the API's own location settings (rate limit, access log, FastCGI
# settings and params, keep-conn) and asked with its Authorization header: what a GET one is
# compared with first. The bare ones (access log off, Debian's params) show what those settings cost.
hello_api, php_api = mean("hello-api-1", "hello-api-2"), mean("php-api-1", "php-api-2")
# The C hello sending the bytes of one list page (100 partnerships) behind the API's settings: the
# most a list page can do through this nginx, TLS and wrk on this machine.
hello_list = mean("hello-list-api-1", "hello-list-api-2")
# The Partners and Directory GET ones' own references: both hellos sending those families' responses
# behind the API's settings (a Lead Provider partnership's bytes are fewer than either's).
family_references = {
    family: (mean("hello-api-%s-1" % family, "hello-api-%s-2" % family), mean("php-api-%s-1" % family, "php-api-%s-2" % family))
    for family in ("pa", "dir")
}
hello_list_p99 = max((runs[n]["p99_ms"] for n in ("hello-list-api-1", "hello-list-api-2") if n in runs), default=None)
fsyncs = fsync_rate(os.path.join(args.run, "state", "data"))


def api_references(name):
    """The hellos behind the API's settings a run is compared with: the Partners and Directory GET
    ones (and their own references' runs) against the hellos sending that family's bytes."""
    for key, scenario in (("pa", "pa-get-one"), ("dir", "dir-get-one")):
        if (name == scenario or name.endswith("-api-%s-1" % key) or name.endswith("-api-%s-2" % key)) \
                and all(family_references[key]):
            return family_references[key]
    return hello_api, php_api


rows = []
for name, r in runs.items():
    if name == "warmup":
        continue
    socket_errors = sum(r["socket_errors"].values())
    steal_path = os.path.join(args.run, "wrk", name + ".steal")
    try:
        steal = float(open(steal_path).read())
    except (OSError, ValueError):
        steal = None
    api_hello, api_php = api_references(name)
    rows.append({
        "name": name, "rps": round(r["rps"], 1), "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "max_ms": r["max_ms"],
        "requests": r["requests"], "non_2xx": r["non_2xx"], "socket_errors": socket_errors, "cpu_stolen_percent": steal,
        "unexplained_socket_errors": unexplained_socket_errors(name, r),
        "vs_static": round(r["rps"] / static, 3) if static else None,
        "vs_hello": round(r["rps"] / hello, 3) if hello else None,
        "vs_php": round(r["rps"] / php, 3) if php else None,
        "vs_hello_api": round(r["rps"] / api_hello, 3) if api_hello else None,
        "vs_php_api": round(r["rps"] / api_php, 3) if api_php else None,
    })
by_name = {row["name"]: row for row in rows}


def goal(description, scenario, value, target, met):
    return {"goal": description, "scenario": scenario, "measured": value, "target": target,
            "met": met if value is not None else None}


def slowdown(scenario):
    """How much slower than the plain list a filtered or sorted one is (req/s of lp-list / its req/s)."""
    plain, other = by_name.get("lp-list", {}).get("rps"), by_name.get(scenario, {}).get("rps")
    return round(plain / other, 2) if plain and other else None


goals = []
for family, scenario in (("Lead Provider", "lp-get-one"), ("Partners", "pa-get-one"), ("Directory", "dir-get-one")):
    row = by_name.get(scenario, {})
    own = "" if scenario == "lp-get-one" else " sending its bytes"
    goals += [
        goal("GET one (%s) vs C hello world%s behind the API's settings (req/s ratio)" % (family, own), scenario,
             row.get("vs_hello_api"), ">= 0.9", (row.get("vs_hello_api") or 0) >= 0.9),
        goal("GET one (%s) vs PHP-FPM hello world%s behind the API's settings (req/s ratio)" % (family, own),
             scenario, row.get("vs_php_api"), ">= 1.5", (row.get("vs_php_api") or 0) >= 1.5),
    ]
    if scenario == "lp-get-one":
        # The bare hellos send the Lead Provider's bytes: only that family is compared with them.
        goals += [
            goal("GET one (%s) vs bare C hello world (req/s ratio)" % family, scenario,
                 row.get("vs_hello"), ">= 0.9", (row.get("vs_hello") or 0) >= 0.9),
            goal("GET one (%s) vs bare PHP-FPM hello world (req/s ratio)" % family, scenario,
                 row.get("vs_php"), ">= 1.5", (row.get("vs_php") or 0) >= 1.5),
        ]
for scenario in ("lp-list-cohort", "lp-list-since", "lp-list-newest", "lp-list-by-updated"):
    goals.append(goal("%s: times slower than the plain list" % scenario, scenario, slowdown(scenario), "<= 1.5",
                      (slowdown(scenario) or 1e9) <= 1.5))
goals += [
    goal("list 100 of 100k records, p99 at %s connections (ms)" % args.connections, "lp-list",
         by_name.get("lp-list", {}).get("p99_ms"), "< 10", (by_name.get("lp-list", {}).get("p99_ms") or 1e9) < 10),
    goal("durable creates with %s workers (req/s)" % args.workers, "lp-create",
         by_name.get("lp-create", {}).get("rps"), ">= 1000", (by_name.get("lp-create", {}).get("rps") or 0) >= 1000),
]
machine = {"nproc": int(args.nproc), "cpu": args.cpu, "date": datetime.date.today().isoformat(), "nginx": args.nginx,
           "fdatasync_per_second": round(fsyncs)}
soak_path = os.path.join(args.run, "soak.json")
report = {
    "machine": machine, "connections": int(args.connections), "workers": int(args.workers),
    "seconds_per_run": int(args.duration), "response_bytes": int(args.response_bytes), "seed": args.seed,
    "references": {"static_rps": static, "hello_rps": hello, "php_rps": php, "hello_api_rps": hello_api,
                   "php_api_rps": php_api, "hello_list_api_rps": hello_list,
                   "hello_list_api_p99_ms": hello_list_p99, "list_page_bytes": int(args.list_bytes),
                   "hello_api_pa_rps": family_references["pa"][0], "php_api_pa_rps": family_references["pa"][1],
                   "hello_api_dir_rps": family_references["dir"][0], "php_api_dir_rps": family_references["dir"][1]},
    "scenarios": rows, "goals": goals,
    "soak": json.load(open(soak_path)) if os.path.exists(soak_path) else None,
}
json.dump(report, open(os.path.join(args.run, "report.json"), "w"), indent=2)

lines = [
    "# Load test %s" % os.path.basename(args.run), "",
    "Machine: %d cores, %s; nginx %s (1 worker); %s API workers (as many C hello processes and php-fpm children); wrk -t2 -c%s, %ss per run, HTTPS; "
    "response of GET one partnership: %s bytes; fdatasync/s on this disk: %d; seed: %s." % (
        machine["nproc"], machine["cpu"], args.nginx, args.workers, args.connections, args.duration,
        args.response_bytes, fsyncs, args.seed) +
    (" A page of 100 partnerships: %s bytes; the C hello sending it behind the API's settings: %.0f req/s, p99 %.2f ms."
     % (args.list_bytes, hello_list, hello_list_p99) if hello_list else ""), "",
    "| scenario | req/s | p50 ms | p99 ms | non-2xx | socket errors | vs static | vs C hello | vs PHP-FPM hello "
    "| vs C hello, API settings | vs PHP-FPM hello, API settings | CPU stolen % |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
if any(all(pair) for pair in family_references.values()):
    lines[2] += (" The Partners and Directory GET ones (and their references' runs) are compared behind the API's"
                  " settings with the hellos sending their own responses; the other columns send the Lead Provider's.")
for row in rows:
    lines.append("| %s | %.0f | %.2f | %.2f | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %s |" % (
        row["name"], row["rps"], row["p50_ms"], row["p99_ms"], row["non_2xx"], row["socket_errors"],
        row["vs_static"] or 0, row["vs_hello"] or 0, row["vs_php"] or 0, row["vs_hello_api"] or 0,
        row["vs_php_api"] or 0, "" if row["cpu_stolen_percent"] is None else "%.1f" % row["cpu_stolen_percent"]))
lines += ["", "| goal | measured | target | met |", "|---|---:|---:|---|"]
for g in goals:
    lines.append("| %s | %s | %s | %s |" % (g["goal"], g["measured"], g["target"], {True: "yes", False: "**no**", None: "not run"}[g["met"]]))
if hello_list:
    lines += ["", "Lists against the C hello sending one list page's bytes behind the API's settings (%.0f req/s, p99 %.2f ms): %s." % (
        hello_list, hello_list_p99, ", ".join("%s %.2f" % (row["name"], row["rps"] / hello_list)
                                               for row in rows if row["name"].startswith("lp-list")))]
if report["soak"]:
    lines += ["", "Soak checks: " + ", ".join("%s: %s" % (k, "ok" if v else "**FAILED**") for k, v in report["soak"]["checks"].items())]
open(os.path.join(args.run, "report.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
bad = [row["name"] for row in rows if row["non_2xx"] or row["unexplained_socket_errors"]]
if bad:
    print("\nnon-2xx responses or socket errors in: " + ", ".join(bad))
raise SystemExit(1 if bad else 0)
