#!/usr/bin/env bash
# End to end, p1mqtt next to a minimal Python bridge (scripts/python_bridge.py: dsmr-parser + paho-mqtt): the
# same simulated DSMR 5 telegrams written by a loopback TCP "meter" (scripts/e2e_harness.py), through the bridge
# into a private mosquitto, every message counted by a subscriber.
#   throughput  telegrams written as fast as the bridge reads: telegrams/s and messages/s delivered, CPU time
#               of the bridge process per telegram; mosquitto_pub -l with as many messages as the ceiling.
#   latency     at 10 telegrams/s (and 100/s): last byte of a telegram written → its last message received;
#               next to the measuring chain's own floor (mosquitto_pub -l handed as many messages at once).
# Each measurement gets a fresh broker. Prints a table. Not part of the test run.
# Usage: scripts/bench-e2e.sh [TELEGRAMS (default 5000)] [LATENCY SECONDS at 10/s (default 30; 100/s runs a third of it)]
# BENCH_SUBSCRIBER=paho stamps arrivals with a paho-mqtt subscriber instead of the harness's plain-socket one
# (paho's own per-message cost then shows in every latency, floor included).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
source scripts/bench-common.sh
telegrams=${1:-5000}
latency_seconds=${2:-30}
warmup=5
subscriber=()
[ "${BENCH_SUBSCRIBER:-}" = paho ] && subscriber=(--paho)
slow=$((latency_seconds * 10))
fast=$((latency_seconds * 100 / 3))
bench_build
bench_venv
work=$(mktemp -d)
BROKER_PID=""
trap 'kill_broker; rm -rf "$work"' EXIT
port=$(free_port 18950)
largest=$(printf '%s\n' "$telegrams" "$slow" "$fast" | sort -n | tail -1)
"$BENCH_BIN" simulate --stdout --count $((warmup + largest)) --interval 0 --start 1763700000 > "$work/capture.txt"

p1mqtt_cmd=("$BENCH_BIN" run --broker "127.0.0.1:$port" --base-topic p1mqtt --source 'tcp://{meter}' --no-discovery --log-level warning)
python_cmd=("$BENCH_VENV/bin/python" scripts/python_bridge.py --broker "127.0.0.1:$port" --base-topic pybridge --source 'tcp://{meter}' --exit-at-end)

measure() { # name mode prefix [harness options...] -- command...
  local name=$1 mode=$2 prefix=$3
  shift 3
  mkdir -p "$work/broker"
  start_broker "$work/broker" "$port"
  echo "  $name ..." >&2
  if ! "$BENCH_VENV/bin/python" scripts/e2e_harness.py "$mode" --broker-port "$port" --prefix "$prefix" \
      --capture "$work/capture.txt" --warmup "$warmup" --work "$work" --log "$work/$name.log" "$@" > "$work/$name.json"; then
    echo "bench-e2e: $name failed; bridge log:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
  kill_broker
}

echo "bench-e2e: $telegrams telegrams at full speed, then ${latency_seconds} s at 10/s and $((latency_seconds / 3)) s at 100/s" >&2
measure p1_tp throughput p1mqtt --count "$telegrams" -- "${p1mqtt_cmd[@]}"
measure py_tp throughput pybridge --count "$telegrams" -- "${python_cmd[@]}"
delivered=$(python3 -c "import json; print(json.load(open('$work/p1_tp.json'))['messages'])")
measure ceiling ceiling ceiling --messages "$delivered"
measure p1_l10 latency p1mqtt ${subscriber[@]+"${subscriber[@]}"} --rate 10 --count "$slow" -- "${p1mqtt_cmd[@]}"
measure py_l10 latency pybridge ${subscriber[@]+"${subscriber[@]}"} --rate 10 --count "$slow" -- "${python_cmd[@]}"
measure p1_l100 latency p1mqtt ${subscriber[@]+"${subscriber[@]}"} --rate 100 --count "$fast" -- "${p1mqtt_cmd[@]}"
measure py_l100 latency pybridge ${subscriber[@]+"${subscriber[@]}"} --rate 100 --count "$fast" -- "${python_cmd[@]}"
per=$(python3 -c "import json; print(json.load(open('$work/p1_l10.json'))['messages_per_telegram'])")
measure floor_l10 floor floor ${subscriber[@]+"${subscriber[@]}"} --rate 10 --count "$slow" --messages "$per"
measure floor_l100 floor floor ${subscriber[@]+"${subscriber[@]}"} --rate 100 --count "$fast" --messages "$per"

versions="p1mqtt $("$BENCH_BIN" --version), $(printf '%s ' "${BENCH_PIP_PINS[@]}")on CPython $("$BENCH_VENV/bin/python" -c 'import platform; print(platform.python_version())'), $(mosquitto -h 2>/dev/null | head -1 | grep -o 'version [0-9.]*' || true)"
python3 - "$work" "$versions" "${BENCH_SUBSCRIBER:-socket}" <<'PY'
import glob, json, sys
work, versions, subscriber = sys.argv[1:]
r = {name: json.load(open(f"{work}/{name}.json")) for name in
     ("p1_tp", "py_tp", "ceiling", "p1_l10", "py_l10", "p1_l100", "py_l100", "floor_l10", "floor_l100")}
p1, py, ceiling = r["p1_tp"], r["py_tp"], r["ceiling"]
rows = []
def row(label, a, b, fmt="{:,.0f}", ratio=True):
    text = lambda v: fmt.format(v) if isinstance(v, (int, float)) else str(v)
    q = f"{a / b:,.2f}×" if ratio and isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else ""
    rows.append((label, text(a), text(b), q))
def lost(t):
    return t["lost_messages"]
row("messages per telegram (usual)", p1["messages_per_telegram"], py["messages_per_telegram"], "{}", False)
row("telegrams/s at full speed", p1["telegrams_per_s"], py["telegrams_per_s"])
row("messages/s delivered", p1["messages_per_s"], py["messages_per_s"])
row("telegrams through at full speed", f'{p1["telegrams_received"]:,}/{p1["telegrams"]:,}',
    f'{py["telegrams_received"]:,}/{py["telegrams"]:,}', ratio=False)
row("messages lost at full speed", lost(p1), lost(py), "{:,}", False)
row("% of mosquitto_pub -l", p1["messages_per_s"] / ceiling["messages_per_s"] * 100,
    py["messages_per_s"] / ceiling["messages_per_s"] * 100, "{:.0f} %", False)
row("CPU per telegram, full speed (µs)", p1["cpu_us_per_telegram"], py["cpu_us_per_telegram"], "{:,.1f}")
row("peak RSS at full speed (MB)", p1["vmhwm_kb"] / 1024, py["vmhwm_kb"] / 1024, "{:.1f}")
for rate in ("10", "100"):
    a, b = r[f"p1_l{rate}"], r[f"py_l{rate}"]
    row(f"latency at {rate}/s: median (ms)", a["median_ms"], b["median_ms"], "{:.2f}")
    row(f"latency at {rate}/s: p99 (ms)", a["p99_ms"], b["p99_ms"], "{:.2f}")
    row(f"latency at {rate}/s: max (ms)", a["max_ms"], b["max_ms"], "{:.2f}")
    row(f"telegrams complete at {rate}/s", f'{a["telegrams_received"] - a["incomplete_telegrams"]}/{a["telegrams"]}',
        f'{b["telegrams_received"] - b["incomplete_telegrams"]}/{b["telegrams"]}', ratio=False)
    row(f"CPU per telegram at {rate}/s (µs)", a["cpu_us_per_telegram"], b["cpu_us_per_telegram"], "{:,.1f}")
print(versions + ("; arrivals stamped by a paho-mqtt subscriber" if subscriber == "paho" else
                   "; arrivals stamped by a plain-socket subscriber"))
print(f"mosquitto_pub -l ceiling: {ceiling['messages_per_s']:,.0f} messages/s ({ceiling['messages']:,} messages)")
for rate in ("10", "100"):
    f = r[f"floor_l{rate}"]
    print(f"latency floor at {rate}/s (mosquitto_pub -l handed {f['messages_per_telegram']} messages at once → last one "
          f"received): median {f['median_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, max {f['max_ms']:.2f} ms")
print()
print(f"| {'measure':<36} | {'p1mqtt':>12} | {'Python bridge':>13} | {'ratio':>9} |")
print(f"|{'-' * 38}|{'-' * 14}|{'-' * 15}|{'-' * 11}|")
for label, a, b, q in rows:
    print(f"| {label:<36} | {a:>12} | {b:>13} | {q:>9} |")
print()
share = p1["messages_per_s"] / ceiling["messages_per_s"] * 100
cpu = p1["cpu_us_per_telegram"] / py["cpu_us_per_telegram"] * 100
p99 = max(r["p1_l10"]["p99_ms"], r["p1_l100"]["p99_ms"])
verdict = lambda ok: "met" if ok else "NOT met"
print(f"bar: delivered rate ≥ 80 % of mosquitto_pub -l: {share:.0f} % — {verdict(share >= 80)}")
print(f"bar: p1mqtt CPU per telegram ≤ 1 % of the Python bridge's: {cpu:.2f} % — {verdict(cpu <= 1)}")
print(f"bar: p99 latency < 5 ms on loopback: {p99:.2f} ms — {verdict(p99 < 5)}")
if lost(p1) or not p1["complete"] or any(r[k]["incomplete_telegrams"] or r[k]["telegrams_received"] < r[k]["telegrams"]
                                         for k in ("p1_l10", "p1_l100")):
    print("WARNING: p1mqtt lost messages or telegrams in this run")
for name in ("p1_tp", "p1_l10", "p1_l100"):
    rejections = [line.strip() for line in open(f"{work}/{name}.log") if "rejected" in line]
    if rejections:
        print(f"p1mqtt's log ({name}): " + rejections[0].split(" ", 1)[1])
PY
