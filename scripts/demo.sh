#!/usr/bin/env bash
# The README's first command: installs what is missing, builds p1mqtt, starts a private mosquitto broker on a
# free local port, runs p1mqtt with the built-in simulated meter, and shows the topics as they arrive.
# Stop with Ctrl-C. DEMO_SECONDS=N stops by itself after N seconds (for scripted checks).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
echo "p1mqtt: building (release)…" >&2
swift build -c release --static-swift-stdlib --product p1mqtt 2>&1 | grep -E "error|warning: |Compiling p1mqtt|Build complete" >&2 || true
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/p1mqtt"
[ -x "$bin" ] || { echo "p1mqtt: the build failed" >&2; exit 1; }

port=18830
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
work=$(mktemp -d)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
broker=$!
cleanup() {
  [ -n "${bridge:-}" ] && kill -TERM "$bridge" 2>/dev/null && wait "$bridge" 2>/dev/null || true
  { kill -KILL "$broker" && wait "$broker"; } 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

web=$((port + 1))
while (exec 3<>"/dev/tcp/127.0.0.1/$web") 2>/dev/null; do web=$((web + 1)); done
echo "p1mqtt: private broker on 127.0.0.1:$port; simulated DSMR 5 meter with gas; web page on http://127.0.0.1:$web/ ; Ctrl-C stops" >&2
"$bin" run --broker "127.0.0.1:$port" --source simulator --http "127.0.0.1:$web" 2> >(sed 's/^/  log: /' >&2) &
bridge=$!
seconds=()
[ -n "${DEMO_SECONDS:-}" ] && seconds=(-W "$DEMO_SECONDS")
# Show every topic with its payload (the JSON telegram shortened), as a subscriber such as Node-RED sees them.
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'p1mqtt/#' -v "${seconds[@]}" | cut -c1-110 || true
