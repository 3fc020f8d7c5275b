#!/usr/bin/env bash
# Soak: p1mqtt for MINUTES (default 60) at 10 telegrams a second (a TCP meter: `p1mqtt simulate --listen …
# --interval 0.1`), Home Assistant discovery on, into a private mosquitto that is SIGKILLed every PERIOD minutes
# (default 5) and restarted after 5 s (none late in the run: the last minute must be undisturbed). Every 30 s it samples p1mqtt's
# resident memory (VmRSS, RssAnon) and open file descriptors (/proc/PID/fd). Prints one row per sample and a
# summary; exits non-zero if VmRSS at the end is more than 10 % above the first sample after the warm-up
# (the first two minutes), if p1mqtt has more file descriptors at the end than then, if p1mqtt died, or if no
# telegram arrived in the last minute. Not part of the test run.
# Usage: scripts/soak.sh [MINUTES] [PERIOD minutes between broker kills, may be fractional]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
source scripts/bench-common.sh
minutes=${1:-60}
period=${2:-5}
downtime=5
# Two minutes: p1mqtt hands its start-up pages back during the first minute (StartupMemory), so a sample just
# after the last hand-back is a low point, not a reference for "flat".
warmup=120
bench_build
work=$(mktemp -d)
BROKER_PID=""
sub=""
pids=()
cleanup() {
  [ -n "$sub" ] && { kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null; } || true
  bench_cleanup
}
trap cleanup EXIT
port=$(free_port 19150)
meter=$(free_port $((port + 1)))

# A subscriber per broker life, appending one arrival time per JSON telegram.
start_subscriber() {
  [ -n "$sub" ] && { kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null; } || true
  mosquitto_sub -h 127.0.0.1 -p "$port" -t soak/telegram -F '%U' >> "$work/sub.txt" 2>/dev/null &
  sub=$!
}

start_broker "$work" "$port"
start_subscriber
"$BENCH_BIN" simulate --listen "127.0.0.1:$meter" --interval 0.1 > /dev/null 2> "$work/simulate.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$meter") 2>/dev/null && break; sleep 0.05; done
# Its own copy of the program, so its pages are not shared with the simulator's (see bench-home.sh).
cp "$BENCH_BIN" "$work/p1mqtt-soak"
sync  # written back, so clean: the kernel reclaims clean pages only
"$work/p1mqtt-soak" run --broker "127.0.0.1:$port" --source "tcp://127.0.0.1:$meter" --base-topic soak --log-level info \
  2> "$work/p1mqtt.log" &
p1=$!
pids+=($p1)

sample() { # seconds broker-state
  if [ ! -r "/proc/$p1/status" ]; then echo "$1 - - - $2" >> "$work/samples.txt"; return; fi
  local fds
  fds=$(ls "/proc/$p1/fd" 2>/dev/null | wc -l)
  awk -v t="$1" -v f="$fds" -v b="$2" '/^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 }
    END { print t, rss, anon, f, b }' "/proc/$p1/status" >> "$work/samples.txt"
}

total=$((minutes * 60))
period_s=$(awk -v p="$period" 'BEGIN { printf "%d", p * 60 }')
echo "soak: $minutes min at 10 telegrams/s, broker SIGKILLed every $period_s s (down ${downtime} s); samples every 30 s" >&2
start=$(date +%s)
next_kill=$period_s
restart_at=-1
kills=0
for ((t = 0; t <= total; t++)); do
  now=$(date +%s)
  [ $((start + t)) -gt "$now" ] && sleep $((start + t - now))
  if [ $((t % 30)) -eq 0 ]; then
    sample "$t" "$([ -n "$BROKER_PID" ] && echo up || echo down)"
    [ $((t % 300)) -eq 0 ] && [ "$t" -gt 0 ] && echo "  $((t / 60)) min" >&2
  fi
  if [ "$t" -eq "$restart_at" ]; then
    start_broker "$work" "$port"
    start_subscriber
    restart_at=-1
  fi
  # No kill late in the run: the broker is back 30 s before the last minute, whose count must be complete.
  if [ "$t" -ge "$next_kill" ] && [ $((t + downtime + 30)) -le $((total - 60)) ]; then
    kill_broker
    kills=$((kills + 1))
    restart_at=$((t + downtime))
    next_kill=$((next_kill + period_s))
  fi
done
alive=no
kill -0 "$p1" 2>/dev/null && alive=yes
end=$(date +%s.%N)
last_minute=$(awk -v e="$end" '$1 >= e - 60' "$work/sub.txt" | wc -l)
reconnects=$(grep -c 'MQTT: connected to' "$work/p1mqtt.log" || true)
errors=$(grep -ciE ' (error|critical) ' "$work/p1mqtt.log" || true)
echo "p1mqtt's log at warning and above (timestamps stripped, repeats counted):"
grep -E ' (warning|error|critical) ' "$work/p1mqtt.log" | cut -d' ' -f2- | sort | uniq -c | sort -rn | head -20 || true
# The longest pauses between received telegrams (outages as the subscriber saw them).
gaps=$(awk 'NR > 1 && $1 - prev > 1 { printf "%.1f s at +%.0f s, ", $1 - prev, prev - first } NR == 1 { first = $1 } { prev = $1 }' "$work/sub.txt")
echo "pauses over 1 s between received telegrams: ${gaps:-none}"
echo

python3 - "$work/samples.txt" "$warmup" "$alive" "$last_minute" "$reconnects" "$kills" "$errors" <<'PY'
import sys
path, warmup, alive, last_minute, connects, kills, errors = sys.argv[1:]
warmup, last_minute, connects, kills, errors = map(int, (warmup, last_minute, connects, kills, errors))
rows = [line.split() for line in open(path)]
print(f"| {'time':>8} | {'VmRSS MB':>8} | {'RssAnon MB':>10} | {'fds':>4} | broker |")
print(f"|{'-' * 10}|{'-' * 10}|{'-' * 12}|{'-' * 6}|--------|")
for t, rss, anon, fds, broker in rows:
    t = int(t)
    cells = (f"{int(rss) / 1024:.2f}", f"{int(anon) / 1024:.2f}", fds) if rss != "-" else ("gone", "gone", "-")
    print(f"| {t // 60:>4}:{t % 60:02d} | {cells[0]:>8} | {cells[1]:>10} | {cells[2]:>4} | {broker:>6} |")
live = [(int(t), int(rss), int(anon), int(fds)) for t, rss, anon, fds, _ in rows if rss != "-"]
after = [row for row in live if row[0] >= warmup]
problems = []
print()
if not after:
    problems.append("no sample after the warm-up")
else:
    first, last = after[0], after[-1]
    rss, fds = [r[1] for r in after], [r[3] for r in after]
    growth = (last[1] - first[1]) / first[1] * 100
    print(f"VmRSS after warm-up: min {min(rss) / 1024:.2f} MB, max {max(rss) / 1024:.2f} MB; "
          f"first {first[1] / 1024:.2f} MB → end {last[1] / 1024:.2f} MB ({growth:+.1f} %)")
    print(f"RssAnon: first {first[2] / 1024:.2f} MB → end {last[2] / 1024:.2f} MB")
    print(f"open file descriptors after warm-up: min {min(fds)}, max {max(fds)}; first {first[3]} → end {last[3]}")
    if growth > 10:
        problems.append(f"VmRSS grew {growth:.1f} % (more than 10 %)")
    if last[3] > first[3]:
        problems.append(f"file descriptors grew from {first[3]} to {last[3]}")
print(f"broker kills: {kills}; p1mqtt connections to the broker in its log: {connects} "
      f"({connects - 1} reconnects); error lines in its log: {errors}")
print(f"p1mqtt still running: {alive}; JSON telegrams received in the last minute: {last_minute} (10/s expected: ~600)")
if alive != "yes":
    problems.append("p1mqtt is not running")
if last_minute == 0:
    problems.append("nothing received in the last minute")
if connects - 1 < kills:
    problems.append(f"fewer reconnects ({connects - 1}) than broker kills ({kills})")
print("soak: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(1 if problems else 0)
PY
