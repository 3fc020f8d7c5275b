#!/usr/bin/env bash
# Start-up memory: where p1mqtt's resident size peaks, and what it settles at. Runs `p1mqtt run --source
# simulator` (the built-in DSMR 5 meter, one telegram a second, Home Assistant discovery on) against a private
# mosquitto RUNS times (default 5) for SECONDS each (default 90), in two set-ups: MQTT only, and MQTT plus the
# web server and history (an /events stream open throughout; the page, the hourly history,
# /api/v1/readings and /metrics fetched before each sample). Each run starts from its own copy of the program
# (see bench-home.sh). During the first 1.5 s VmRSS is read from /proc/PID/status as fast as a Python loop can.
# Prints, per set-up and run, VmRSS at fixed times, the peak (the higher of the kernel's VmHWM and the highest
# traced value: VmHWM is only brought up to date at some events and can miss a short peak) and the private
# memory at the end; and for the first MQTT-only run, the turns of VmRSS in its first 1.5 s. Not part of the
# test run.
# Usage: scripts/bench-startup.sh [RUNS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
source scripts/bench-common.sh
runs=${1:-5}
seconds=${2:-90}
times="1,4,15,30,60,90"
bench_build
work=$(mktemp -d)
BROKER_PID=""
pids=()
trap bench_cleanup EXIT
port=$(free_port 19250)
start_broker "$work" "$port"
http=$(free_port $((port + 1)))

echo "bench-startup: $runs runs of $seconds s in each of two set-ups" >&2
for setup in mqtt web; do
  for ((run = 1; run <= runs; run++)); do
    cp "$BENCH_BIN" "$work/p1mqtt-$setup-$run"
    sync  # written back, so clean: the kernel reclaims clean pages only
    args=(run --broker "127.0.0.1:$port" --source simulator --base-topic "st$run" --discovery-prefix "ha_st$run"
          --log-level notice)
    urls="-"
    if [ "$setup" = web ]; then
      rm -rf "$work/data"
      args+=(--http "127.0.0.1:$http" --data-dir "$work/data")
      base="http://127.0.0.1:$http"
      urls="$base/,$base/api/v1/history/hours,$base/api/v1/readings,$base/metrics"
      # The live stream, open for the whole run (it connects once the server listens).
      ( for _ in $(seq 100); do curl -sN "$base/events" > /dev/null 2>&1 && break; sleep 0.1; done ) &
      pids+=($!)
    fi
    python3 scripts/startup_trace.py "$seconds" 1500 "$times" "$urls" -- "$work/p1mqtt-$setup-$run" "${args[@]}" \
      2> "$work/p1mqtt-$setup-$run.log" | sed "s/^/$setup $run /" >> "$work/results.txt"
    echo "  $setup run $run done" >&2
  done
done

python3 - "$work/results.txt" "$times" "$seconds" "$("$BENCH_BIN" --version)" <<'EOF'
import json, sys
path, times, seconds, version = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), sys.argv[4]
times = [t for t in times if float(t) <= seconds]
mb = lambda kb: "-" if kb is None else f"{kb / 1024:.1f} MB"
rows, trace = [], None
for line in open(path):
    setup, run, document = line.split(" ", 2)
    result = json.loads(document)
    rows.append((setup, run, result))
    traced = max((kb for _, kb in result["trace"]), default=0)
    result["peak"] = max(result["hwm"] or 0, traced) or None
    if setup == "mqtt" and trace is None:
        trace = result["trace"]
print(f"p1mqtt {version}, `p1mqtt run --source simulator`, discovery on, one telegram a second\n")
print("| set-up | run | " + " | ".join(f"at {t} s" for t in times) + " | peak | VmHWM | RssAnon at the end |")
print("|---|---|" + "---|" * len(times) + "---|---|---|")
names = {"mqtt": "MQTT only", "web": "MQTT + web server + history"}
for setup, run, result in rows:
    cells = [mb(result["samples"].get(t)) for t in times]
    print(f"| {names[setup]} | {run} | " + " | ".join(cells) + f" | {mb(result['peak'])} | {mb(result['hwm'])} | {mb(result['anon'])} |")
for setup in ("mqtt", "web"):
    peaks = sorted(r["peak"] for s, _, r in rows if s == setup and r["peak"])
    if peaks:
        print(f"\n{names[setup]}: peak {mb(peaks[0])} – {mb(peaks[-1])} over {len(peaks)} runs")
if trace:
    # The turns: each highest point before a fall and lowest point before a rise of at least 0.5 MB.
    turns, low, high, rising = [], trace[0], trace[0], True
    for point in trace[1:]:
        if rising:
            if point[1] >= high[1]: high = point
            elif high[1] - point[1] >= 512: turns.append(high); rising, low = False, point
        else:
            if point[1] <= low[1]: low = point
            elif point[1] - low[1] >= 512: turns.append(low); rising, high = True, point
    turns.append(high if rising else low)
    print("\nFirst MQTT-only run, VmRSS after exec (its turns in the first 1.5 s):")
    print("  " + ", ".join(f"{ms:g} ms {kb / 1024:.1f} MB" for ms, kb in turns))
bad = [f"{s} {r}" for s, r, res in rows if res["exit"] not in (0, -15)]
if bad:
    print(f"\nruns that did not stop cleanly: {', '.join(bad)}")
    sys.exit(1)
EOF
