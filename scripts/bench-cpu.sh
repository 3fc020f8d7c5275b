#!/usr/bin/env bash
# CPU per telegram of `p1mqtt run` at a meter's pace, for comparing builds: a private mosquitto, a TCP meter
# (`p1mqtt simulate --listen … --interval INTERVAL`), discovery off; after 3 s of warm-up, utime + stime from
# /proc/PID/stat over SECONDS, divided by the telegrams sent meanwhile. Each binary runs from its own copy.
# Not part of the test run.
# Usage: scripts/bench-cpu.sh [SECONDS (default 60)] [INTERVAL (default 0.1)] [BINARY …]   (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
source scripts/bench-common.sh
seconds=${1:-60}
interval=${2:-0.1}
shift $(( $# < 2 ? $# : 2 ))
binaries=("$@")
if [ ${#binaries[@]} -eq 0 ]; then bench_build; binaries=("$BENCH_BIN"); fi
work=$(mktemp -d)
pids=()
trap bench_cleanup EXIT
ticks=$(getconf CLK_TCK)
for binary in "${binaries[@]}"; do
  port=$(free_port 19250)
  meter=$(free_port $((port + 1)))
  start_broker "$work" "$port"
  cp "$binary" "$work/meter"; cp "$binary" "$work/bridge"; sync
  "$work/meter" simulate --listen "127.0.0.1:$meter" --interval "$interval" 2> /dev/null & pids+=($!)
  sleep 0.5
  "$work/bridge" run --broker "127.0.0.1:$port" --source "tcp://127.0.0.1:$meter" --no-discovery \
    --log-level notice 2> /dev/null & bridge=$!; pids+=($bridge)
  sleep 3
  before=$(awk '{ print $14 + $15 }' "/proc/$bridge/stat")
  sleep "$seconds"
  after=$(awk '{ print $14 + $15 }' "/proc/$bridge/stat")
  awk -v b="$binary" -v t=$((after - before)) -v hz="$ticks" -v s="$seconds" -v i="$interval" 'BEGIN {
    printf "%s: %d ticks in %d s at one telegram every %s s: %.0f µs of CPU per telegram\n", b, t, s, i, t / hz * 1e6 / (s / i) }'
  kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=()
  kill_broker
done
