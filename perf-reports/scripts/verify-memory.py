#!/usr/bin/env python3
"""Peak memory of `iosv verify` (all cores, default batch) on 100,000 and 1,000,000 lines, with one
malformed line in every 1,000. The memory profile is flat when both peaks are about equal. Also
checks that every malformed line got an error line and every other line was judged valid.

Usage: perf-reports/scripts/verify-memory.py [--lines 1000000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# IOSV_BIN: measure a binary built elsewhere (then nothing is built here).
IOSV = os.environ.get("IOSV_BIN") or os.path.join(ROOT, "target", "release", "iosv")
MALFORMED = [b"not json", b'{"pk":"zz","msg":"","sig":"00"}', b'{"pk":"00"}', b""]


def make_input(path, lines, tmp):
    valid = os.path.join(tmp, "valid.jsonl")
    subprocess.run([IOSV, "gen-sigs", "--count", str(lines), "--keys", "10000", "--out", valid], check=True)
    bad = 0
    with open(valid, "rb") as src, open(path, "wb") as dst:
        for i, line in enumerate(src):
            if i % 1000 == 999:
                dst.write(MALFORMED[bad % len(MALFORMED)] + b"\n")
                bad += 1
            else:
                dst.write(line)
    os.remove(valid)
    return bad


def run(path):
    res = subprocess.run(["/usr/bin/time", "-f", "%e %M", IOSV, "verify", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True)
    wall, rss = res.stderr.decode().strip().splitlines()[-1].split()
    out = res.stdout.splitlines()
    return {
        "wall_s": float(wall),
        "max_rss_kib": int(rss),
        "output_lines": len(out),
        "valid": sum(1 for l in out if l == b'{"valid":true}'),
        "invalid": sum(1 for l in out if l == b'{"valid":false}'),
        "errors": sum(1 for l in out if l.startswith(b'{"error":')),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    args = ap.parse_args()
    if not os.environ.get("IOSV_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "iosv-harness"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="iosv-mem-")
    report = {}
    for lines in (args.lines // 10, args.lines):
        path = os.path.join(tmp, f"{lines}.jsonl")
        bad = make_input(path, lines, tmp)
        r = run(path)
        r.update({"input_lines": lines, "malformed_lines": bad, "input_bytes": os.path.getsize(path)})
        r["all_judged"] = (r["output_lines"] == lines and r["errors"] == bad
                           and r["valid"] == lines - bad)
        report[str(lines)] = r
        os.remove(path)
        print(f"{lines} lines: peak RSS {r['max_rss_kib']} KiB, {r['wall_s']} s, all judged: {r['all_judged']}",
              file=sys.stderr)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
