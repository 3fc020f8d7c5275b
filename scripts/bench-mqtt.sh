#!/usr/bin/env bash
# End-to-end benchmark: telegrams from a file, at full speed, through p1mqtt to a private local broker, every
# message counted by a subscriber; next to mosquitto_pub -l sending the same number of messages in the same
# run (the broker's ceiling). Prints a small table. Usage: scripts/bench-mqtt.sh [TELEGRAMS] (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
command -v /usr/bin/time >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq time >/dev/null; }
telegrams=${1:-5000}
swift build -c release --static-swift-stdlib --product p1mqtt >/dev/null
bin="$(swift build -c release --show-bin-path)/p1mqtt"
work=$(mktemp -d)
port=18900
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
# A subscriber that falls behind would otherwise lose QoS 0 messages beyond mosquitto's default queue of 1000.
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000000\n' "$port" > "$work/m.conf"
mosquitto -c "$work/m.conf" > "$work/m.log" 2>&1 &
broker=$!
trap '{ kill -KILL $broker && wait $broker; } 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

"$bin" simulate --stdout --count "$telegrams" --interval 0 --start 1763700000 > "$work/capture.txt"
# Messages per telegram: count what one run publishes (values + the JSON telegram topic).
per=$("$bin" simulate --stdout --count 1 --interval 0 --start 1763700000 | "$bin" parse - 2>/dev/null | python3 -c '
import json,sys; t=json.loads(sys.stdin.readline()); print(len([k for k in t["objects"] if not k.startswith("0-1:")]) + 4 + 1)' 2>/dev/null || echo 0)

# Starts a subscriber writing one arrival time per message, and returns once it demonstrably receives
# (a probe message on the filter's ready/ topic arrived), so no message of the run is missed.
start_subscriber() { # filter expected
  mosquitto_sub -h 127.0.0.1 -p "$port" -t "$1" -t "ready/$1" -q 0 -F '%t %U' -W 300 -C "$(( $2 + 1 ))" > "$work/sub.raw" 2>/dev/null &
  sub=$!
  until [ -s "$work/sub.raw" ]; do
    mosquitto_pub -h 127.0.0.1 -p "$port" -t "ready/${1%/#}/probe" -m x
    sleep 0.2
  done
  # Later probes may still arrive; they are filtered out below.
}
arrivals() { grep -v '^ready/' "$work/sub.raw" | cut -d' ' -f2 > "$work/sub.txt"; }

# 1. p1mqtt
start_subscriber 'bench/#' 999999999
/usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$bin" run --broker "127.0.0.1:$port" --base-topic bench \
  --source "file:$work/capture.txt" --rate max --exit-at-end --no-discovery --log-level warning 2>"$work/p1.log"
sleep 1
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null || true
arrivals
received=$(wc -l < "$work/sub.txt")
first=$(head -1 "$work/sub.txt"); last=$(tail -1 "$work/sub.txt")
p1_seconds=$(python3 -c "print(max(1e-6, $last - $first))")
read -r elapsed user sys rss < "$work/time.txt"

# 2. mosquitto_pub -l with the same number of messages
python3 -c "
import sys
n=$received
sys.stdout.write(''.join('%d.%03d\n' % (i, i % 1000) for i in range(n)))" > "$work/lines.txt"
start_subscriber 'ceiling/#' "$received"
mosquitto_pub -h 127.0.0.1 -p "$port" -t ceiling/x -l -q 0 < "$work/lines.txt"
# Give the subscriber up to 60 s to receive everything, then stop it.
for _ in $(seq 600); do [ "$(grep -c '^ceiling/' "$work/sub.raw")" -ge "$received" ] && break; sleep 0.1; done
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null || true
arrivals
pub_received=$(wc -l < "$work/sub.txt")
first=$(head -1 "$work/sub.txt"); last=$(tail -1 "$work/sub.txt")
pub_seconds=$(python3 -c "print(max(1e-6, $last - $first))")

python3 - "$telegrams" "$received" "$p1_seconds" "$pub_received" "$pub_seconds" "$user" "$sys" "$rss" "$elapsed" <<'PY'
import sys
t, rec, p1s, prec, pubs, user, sys_, rss, elapsed = sys.argv[1:]
t, rec, prec = int(t), int(rec), int(prec)
p1s, pubs, user, sys_, rss, elapsed = map(float, (p1s, pubs, user, sys_, rss, elapsed))
p1_rate, pub_rate = rec / p1s, prec / pubs
print(f"telegrams replayed              {t}")
print(f"messages received (p1mqtt)      {rec}  ({rec / t:.1f} per telegram)")
print(f"p1mqtt delivered messages/s     {p1_rate:,.0f}   ({t / p1s:,.0f} telegrams/s)")
print(f"mosquitto_pub -l messages/s     {pub_rate:,.0f}   ({prec} messages)")
print(f"ratio p1mqtt / mosquitto_pub    {p1_rate / pub_rate * 100:.0f} %")
print(f"p1mqtt CPU time per telegram    {(user + sys_) / t * 1e6:.1f} µs (user {user:.2f} s, sys {sys_:.2f} s, wall {elapsed:.2f} s)")
print(f"p1mqtt peak resident memory     {rss / 1024:.1f} MB")
PY
