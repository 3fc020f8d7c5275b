#!/usr/bin/env bash
# Cost at home: what a bridge costs on a home server with a real meter's cadence, one telegram a second, over
# MINUTES (default 10), all three side by side against one private mosquitto:
#   p1mqtt (simulator)   p1mqtt run --source simulator (the built-in DSMR 5 meter, one telegram a second),
#                        Home Assistant discovery on;
#   p1mqtt (TCP)         p1mqtt run --source tcp://… fed by `p1mqtt simulate --listen … --interval 1`, discovery on;
#   Python bridge        scripts/python_bridge.py (dsmr-parser + paho-mqtt) fed by the same simulator.
# Every 10 s it samples CPU time (utime + stime in /proc/PID/stat) and memory (VmRSS, RssAnon in
# /proc/PID/status) of each bridge; prints average CPU % of one core, peak RSS (VmHWM: the highest resident
# size the kernel saw, start-up included), the highest sample, RSS at minute 2 and at the end
# (flat = no growth between them). Not part of the test run. Usage: scripts/bench-home.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
source scripts/bench-common.sh
minutes=${1:-10}
bench_build
bench_venv
work=$(mktemp -d)
BROKER_PID=""
pids=()
trap bench_cleanup EXIT
port=$(free_port 19050)
start_broker "$work" "$port"
meter=$(free_port $((port + 1)))

# Every message is counted (to show that all three publish the whole time), not stamped.
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'p1mqtt/telegram' -t 'p1tcp/telegram' -t 'pybridge/telegram' -F '%t' > "$work/sub.txt" 2>/dev/null &
pids+=($!)
"$BENCH_BIN" simulate --listen "127.0.0.1:$meter" --interval 1 > /dev/null 2> "$work/simulate.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$meter") 2>/dev/null && break; sleep 0.05; done

# Each p1mqtt runs from its own copy of the program, as on a real machine with one p1mqtt: copies of one file
# share their page-cache pages, which then count in both processes' RSS, and the kernel does not reclaim
# shared pages when p1mqtt hands back its start-up pages (see "Memory" in docs/performance.md).
cp "$BENCH_BIN" "$work/p1mqtt-sim"
cp "$BENCH_BIN" "$work/p1mqtt-tcp"
sync  # written back, so clean: the kernel reclaims clean pages only
"$work/p1mqtt-sim" run --broker "127.0.0.1:$port" --source simulator --log-level notice 2> "$work/p1mqtt-sim.log" &
sim_pid=$!
pids+=($sim_pid)
"$work/p1mqtt-tcp" run --broker "127.0.0.1:$port" --source "tcp://127.0.0.1:$meter" --base-topic p1tcp \
  --discovery-prefix ha_tcp --log-level notice 2> "$work/p1mqtt-tcp.log" &
tcp_pid=$!
pids+=($tcp_pid)
"$BENCH_VENV/bin/python" scripts/python_bridge.py --broker "127.0.0.1:$port" --source "tcp://127.0.0.1:$meter" \
  --base-topic pybridge 2> "$work/python.log" &
py_pid=$!
pids+=($py_pid)

sample() { # seconds-since-start
  local name pid
  for name in sim tcp py; do
    case $name in sim) pid=$sim_pid ;; tcp) pid=$tcp_pid ;; py) pid=$py_pid ;; esac
    if [ ! -r "/proc/$pid/stat" ]; then echo "bench-home: the $name bridge ($pid) is gone" >&2; return 1; fi
    local ticks
    ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    awk -v t="$1" -v n="$name" -v c="$ticks" '
      /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^VmHWM:/ { hwm = $2 }
      END { print t, n, c, rss, anon, hwm }' "/proc/$pid/status" >> "$work/samples.txt"
  done
}

echo "bench-home: $minutes min at one telegram a second; a sample every 10 s" >&2
sleep 5   # start-up (connect, first telegram, discovery) is not part of the average
start=$(date +%s.%N)
sample 0
total=$((minutes * 60))
for ((elapsed = 10; elapsed <= total; elapsed += 10)); do
  # Sleep until the sample's due time, so the samples do not drift.
  now=$(date +%s.%N)
  sleep "$(awk -v s="$start" -v e="$elapsed" -v n="$now" 'BEGIN { d = s + e - n; print (d > 0 ? d : 0) }')"
  sample "$elapsed"
  [ $((elapsed % 60)) -eq 0 ] && echo "  $((elapsed / 60)) min" >&2
done
end=$(date +%s.%N)
ticks=$(getconf CLK_TCK)

versions="p1mqtt $("$BENCH_BIN" --version), $(printf '%s ' "${BENCH_PIP_PINS[@]}")on CPython $("$BENCH_VENV/bin/python" -c 'import platform; print(platform.python_version())')"
python3 - "$work/samples.txt" "$work/sub.txt" "$ticks" "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" "$versions" <<'PY'
import collections, sys
samples, sub, ticks, wall, versions = sys.argv[1:]
ticks, wall = int(ticks), float(wall)
runs = collections.defaultdict(list)
for line in open(samples):
    t, name, cpu, rss, anon, hwm = line.split()
    runs[name].append((int(t), int(cpu), int(rss), int(anon), int(hwm)))
received = collections.Counter(line.strip() for line in open(sub))
topic = {"sim": "p1mqtt/telegram", "tcp": "p1tcp/telegram", "py": "pybridge/telegram"}
names = {"sim": "p1mqtt (simulator)", "tcp": "p1mqtt (TCP)", "py": "Python bridge"}
duration = runs["sim"][-1][0]
reference = min(120, duration // 2 // 10 * 10)   # minute 2, or half-way through a shorter run
result = {}
for name, rows in runs.items():
    cpu = (rows[-1][1] - rows[0][1]) / ticks / max(1, rows[-1][0] - rows[0][0]) * 100
    at = {t: (rss, anon) for t, _, rss, anon, _ in rows}
    ref, last = at[reference], at[rows[-1][0]]
    result[name] = dict(cpu=cpu, peak=max(r[2] for r in rows), hwm=rows[-1][4], ref=ref, last=last,
                        growth=(last[0] - ref[0], last[1] - ref[1]), telegrams=received[topic[name]])
def flat(r):
    # Flat: resident memory at the end within 1 % (and private memory within 64 KB) of the reference sample.
    return r["growth"][0] <= max(64, r["ref"][0] * 0.01) and r["growth"][1] <= 64
print(f"{versions}; {duration // 60} min {duration % 60} s sampled")
print()
columns = ["sim", "tcp", "py"]
print("| measure | " + " | ".join(names[c] for c in columns) + " |")
print("|---|" + "---|" * len(columns))
rows = [
    ("telegrams published (JSON topic received)", lambda r: f"{r['telegrams']:,}"),
    ("average CPU, % of one core", lambda r: f"{r['cpu']:.3f} %"),
    ("peak RSS (VmHWM at the end, MB)", lambda r: f"{r['hwm'] / 1024:.1f}"),
    ("highest sample (VmRSS, MB)", lambda r: f"{r['peak'] / 1024:.1f}"),
    (f"RSS at {reference // 60} min {reference % 60} s (VmRSS / RssAnon, MB)", lambda r: f"{r['ref'][0] / 1024:.1f} / {r['ref'][1] / 1024:.2f}"),
    ("RSS at the end (VmRSS / RssAnon, MB)", lambda r: f"{r['last'][0] / 1024:.1f} / {r['last'][1] / 1024:.2f}"),
    ("growth since then (KB)", lambda r: f"{r['growth'][0]:+d} / {r['growth'][1]:+d}"),
    ("flat", lambda r: "yes" if flat(r) else "NO"),
]
for label, cell in rows:
    print(f"| {label} | " + " | ".join(cell(result[c]) for c in columns) + " |")
print()
verdict = lambda ok: "met" if ok else "NOT met"
for c in ("sim", "tcp"):
    r = result[c]
    print(f"bars for {names[c]}: CPU < 0.2 % of one core: {verdict(r['cpu'] < 0.2)}; peak RSS (VmHWM) < 15 MB: "
          f"{verdict(r['hwm'] < 15 * 1024)}; sampled RSS < 15 MB: {verdict(r['peak'] < 15 * 1024)}; "
          f"flat: {verdict(flat(r))}")
PY
