#!/usr/bin/env bash
# Parse benchmark: framing + CRC + parsing of each example telegram on one core (p1mqtt bench), and
# `p1mqtt parse` on a file of 5,000 distinct simulated telegrams including its JSON output.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build -c release --static-swift-stdlib --product p1mqtt >/dev/null
bin="$(swift build -c release --show-bin-path)/p1mqtt"
echo "## p1mqtt bench examples/telegrams/*.txt --seconds 1"
"$bin" bench examples/telegrams/*.txt --seconds 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" simulate --stdout --count 5000 --interval 0 --start 1763700000 > "$work/5000.txt"
echo
echo "## p1mqtt parse on 5,000 telegrams ($(wc -c < "$work/5000.txt") bytes), JSON Lines to a file, best of 5"
best=""
for _ in 1 2 3 4 5; do
  start=$(date +%s.%N)
  "$bin" parse "$work/5000.txt" > "$work/out.jsonl" 2>/dev/null
  end=$(date +%s.%N)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
  if [ -z "$best" ] || awk -v s="$seconds" -v b="$best" 'BEGIN { exit !(s < b) }'; then best=$seconds; fi
done
lines=$(wc -l < "$work/out.jsonl")
awk -v n="$lines" -v s="$best" 'BEGIN { printf "%d telegrams in %.3f s = %.0f telegrams/s (including process start and JSON output)\n", n, s, n / s }'
