#!/usr/bin/env python3
"""Whole-process comparison of `iosv verify` against the same job done with ed25519-dalek's
`verify_batch` (`iosv verify --peer ed25519-dalek-batch`: same binary, same reading, parsing and
writing), pinned to one core, on 100,000 valid signatures with reused keys and with distinct keys.

Runs alternate (engine, peer, engine, peer, ...) so that drift on a shared machine hits both alike.
Prints a JSON object (last line) with every run, and the medians and ratios.

Usage: perf-reports/scripts/verify-whole-process.py [--runs 5] [--count 100000] [--cpu 0]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# IOSV_BIN: measure a binary built elsewhere (then nothing is built here).
IOSV = os.environ.get("IOSV_BIN") or os.path.join(ROOT, "target", "release", "iosv")


def timed(cmd, stdout):
    """Runs cmd under /usr/bin/time; returns (wall s, user+sys s, max RSS KiB)."""
    fmt = "%e %U %S %M"
    res = subprocess.run(["/usr/bin/time", "-f", fmt] + cmd, stdout=stdout, stderr=subprocess.PIPE,
                         text=True, check=True)
    wall, user, sys_, rss = res.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--cpu", type=int, default=0)
    args = ap.parse_args()
    if not os.environ.get("IOSV_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "iosv-harness"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="iosv-verify-")
    inputs = {}
    for name, keys in (("reused keys (zipf over 10,000)", "10000"), ("distinct keys", "distinct")):
        path = os.path.join(tmp, f"{keys}.jsonl")
        subprocess.run([IOSV, "gen-sigs", "--count", str(args.count), "--keys", keys, "--out", path],
                       check=True)
        inputs[name] = path
    pin = ["taskset", "-c", str(args.cpu)]
    jobs = {
        "iosv verify": lambda p: pin + [IOSV, "verify", "--threads", "1", p],
        "ed25519-dalek verify_batch": lambda p: pin + [IOSV, "verify", "--threads", "1", "--peer",
                                                       "ed25519-dalek-batch", p],
    }
    report = {"count": args.count, "runs": args.runs, "cpu_pinned": args.cpu, "workloads": {}}
    for wname, path in inputs.items():
        runs = {j: [] for j in jobs}
        for _ in range(args.runs):
            for jname, cmd in jobs.items():
                with open(os.devnull, "w") as null:
                    runs[jname].append(timed(cmd(path), null))
        summary = {}
        for jname, rs in runs.items():
            summary[jname] = {
                "wall_s": [r[0] for r in rs],
                "cpu_s": [r[1] for r in rs],
                "max_rss_kib": [r[2] for r in rs],
                "median_wall_s": statistics.median(r[0] for r in rs),
                "median_cpu_s": statistics.median(r[1] for r in rs),
            }
        e, d = summary["iosv verify"], summary["ed25519-dalek verify_batch"]
        summary["speedup_wall"] = d["median_wall_s"] / e["median_wall_s"]
        summary["speedup_cpu"] = d["median_cpu_s"] / e["median_cpu_s"]
        report["workloads"][wname] = summary
        print(f"{wname}: iosv {e['median_wall_s']:.3f} s, dalek {d['median_wall_s']:.3f} s (wall medians), "
              f"speedup {summary['speedup_wall']:.2f}x wall, {summary['speedup_cpu']:.2f}x cpu", file=sys.stderr)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
