# Shared by the comparison benchmarks (bench-e2e.sh, bench-home.sh, soak.sh); source it, do not run it.
# Expects to be sourced from the repository root after scripts/install-deps.sh, under `set -euo pipefail`.

# The Python side: pinned versions, in a virtual environment cached under .build-bench/ (ignored by git;
# delete the directory to start afresh). A change of the pins makes a new environment.
BENCH_PIP_PINS=(dsmr-parser==1.11.2 paho-mqtt==2.2.0)

bench_venv() {
  local name
  name="venv-$(printf '%s\n' "${BENCH_PIP_PINS[@]}" | sha1sum | cut -c1-10)"
  BENCH_VENV="$PWD/.build-bench/$name"
  if [ ! -x "$BENCH_VENV/bin/python" ] || [ ! -f "$BENCH_VENV/.complete" ]; then
    rm -rf "$BENCH_VENV"
    mkdir -p .build-bench
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install -q --disable-pip-version-check "${BENCH_PIP_PINS[@]}"
    touch "$BENCH_VENV/.complete"
  fi
}

bench_build() {
  swift build -c release --static-swift-stdlib --product p1mqtt >/dev/null
  BENCH_BIN="$(swift build -c release --show-bin-path)/p1mqtt"
}

# A free TCP port on 127.0.0.1 at or above $1.
free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# Starts a private mosquitto on 127.0.0.1:$2 with its files in directory $1; sets BROKER_PID. Subscribers that
# fall behind would otherwise lose QoS 0 messages beyond mosquitto's default queue of 1000.
start_broker() { # dir port
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000000\n' "$2" > "$1/mosquitto.conf"
  mosquitto -c "$1/mosquitto.conf" >> "$1/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.05; done
  echo "mosquitto did not start on port $2; see $1/mosquitto.log" >&2
  return 1
}

kill_broker() {
  if [ -n "${BROKER_PID:-}" ]; then
    { kill -KILL "$BROKER_PID" && wait "$BROKER_PID"; } 2>/dev/null || true
    BROKER_PID=""
  fi
}

# The EXIT trap of a script that starts helpers: stops every process in the caller's `pids` array and the
# broker, and removes the caller's `$work` directory.
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill_broker
  rm -rf "$work"
}
