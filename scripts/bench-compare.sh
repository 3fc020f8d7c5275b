#!/usr/bin/env bash
# Parse speed side by side: p1mqtt (framing + CRC + parsing, one core) against the reference Python parser
# dsmr_parser (installed from PyPI into a throwaway virtual environment), on the same telegrams, as a ratio.
# Two p1mqtt figures: "parse" (lines and value groups found and checked; p1mqtt reads a value when it is used)
# and "typed" (every value also read into its number, unit, time or text, which dsmr_parser does for all).
# Usage: scripts/bench-compare.sh [SECONDS per file, default 2]. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
seconds=${1:-2}
swift build -c release --static-swift-stdlib --product p1mqtt >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/p1mqtt"
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q dsmr-parser
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("dsmr-parser"))')
files=(examples/telegrams/*.txt)
"$venv/bin/python" scripts/bench_dsmr_parser.py "$seconds" "${files[@]}" > "$venv/python.txt"
"$bin" bench "${files[@]}" --seconds "$seconds" | awk 'NR > 1 { print $1, $3, $5 }' > "$venv/p1mqtt.txt"
echo "dsmr_parser $version (CPython $(python3 -c 'import platform; print(platform.python_version())')) vs p1mqtt $("$bin" --version), ${seconds} s per file, one core"
printf '%-20s %14s %14s %18s %8s %8s\n' telegram "parse tel/s" "typed tel/s" "dsmr_parser tel/s" parse typed
join <(sort "$venv/p1mqtt.txt") <(sort "$venv/python.txt") | while read -r name parse typed theirs; do
  awk -v n="$name" -v a="$parse" -v t="$typed" -v b="$theirs" \
    'BEGIN { printf "%-20s %14.0f %14.0f %18.1f %7.0fx %7.0fx\n", n, a, t, b, a / b, t / b }'
done
