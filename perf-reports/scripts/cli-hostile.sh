#!/usr/bin/env bash
# The hostile inputs of issue 18 (and their neighbours), each run under /usr/bin/time: exit code,
# wall time and peak RSS, as a Markdown table on stdout. Usage:
#   perf-reports/scripts/cli-hostile.sh [path/to/iosv] > table.md
# Every row should read exit 2 (refused) or 0/1 (ran and judged), never a signal, in well under a
# second for refusals, with peak memory in the tens of MB.
set -uo pipefail
B="${1:-target/release/iosv}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
truncate -s $((64 * 1024 * 1024 + 1)) "$dir/huge.json"
printf '[1,2,3]' > "$dir/array.json"
head -c 100000 /dev/zero | tr '\0' '[' > "$dir/nested.json"
"$B" drp --servers 8 --out "$dir/t.json" >/dev/null
python3 - "$dir/t.json" "$dir/damaged.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["dealings"][1]["deal"]["commitments"][0] = "ff" * 32
json.dump(t, open(sys.argv[2], "w"))
PY
cases=(
  "pipeline --tx 10 --rate 0"
  "pipeline --tx 10 --rate NaN"
  "pipeline --tx 10 --rate=-1"
  "pipeline --tx 10 --rate 1e-9"
  "pipeline --tx 1000000000000"
  "gen-sigs --count 1 --keys 1099511627776"
  "gen-sigs --count 1 --msg-len 1000000000"
  "gen-sigs --count 200 --msg-len 1048576 --out $dir/long.jsonl"
  "simulate shard-safety --fractions 1.5"
  "simulate shard-safety --sizes 0"
  "simulate shard-safety --samples 10000000"
  "simulate --epochs 1000000"
  "simulate --epochs 0"
  "drp --servers 4096"
  "drp --servers 8 --group-size 9"
  "msb-bootstrap --runs 0"
  "demo --rate 1e-9"
  "demo --duration 1e-300"
  "demo --sweep 5,inf"
  "demo --config /dev/zero"
  "demo --config $dir/huge.json"
  "demo --config $dir/array.json"
  "demo --config $dir/nested.json"
  "simulate --config /dev/zero"
  "compare /dev/zero /dev/zero"
  "gate --baseline /dev/zero"
  "verify-drp /dev/zero"
  "verify-drp $dir/huge.json"
  "verify-drp $dir/damaged.json"
  "verify $dir/huge.json"
)
echo "| command | exit | wall s | peak RSS MB | first line of the message |"
echo "|---|---:|---:|---:|---|"
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "%x %e %M" -o "$dir/time" timeout 120 "$B" $c >"$dir/out" 2>"$dir/err"
  read -r code wall rss < <(tail -1 "$dir/time")
  msg=$(grep -v '^$' "$dir/err" | head -1 | cut -c1-110 | sed 's/|/\\|/g')
  [ -z "$msg" ] && msg=$(head -1 "$dir/out" | cut -c1-110 | sed 's/|/\\|/g')
  shown=${c//$dir/TMP}
  echo "| \`iosv $shown\` | $code | $wall | $((rss / 1024)) | $msg |"
done
