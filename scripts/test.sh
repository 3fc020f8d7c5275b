#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, checks that the README's
# first command (scripts/demo.sh) shows live data, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
P1MQTT_TEST_PACKAGES=1 source scripts/install-deps.sh
swift build --build-tests -Xswiftc -warnings-as-errors

echo "p1mqtt: checking the quick start (scripts/demo.sh for 8 seconds)…" >&2
demo_output=$(DEMO_SECONDS=8 ./scripts/demo.sh 2>&1 || true)
for expected in "p1mqtt/status online" "p1mqtt/energy_import_tariff_1 " "p1mqtt/gas_1/reading " "p1mqtt/telegram {"; do
  if ! grep -qF "$expected" <<< "$demo_output"; then
    echo "p1mqtt: the quick start did not show '$expected'; its output was:" >&2
    echo "$demo_output" | tail -40 >&2
    exit 1
  fi
done
echo "p1mqtt: quick start OK" >&2

# One test at a time: Swift Testing's parallel runs share a cooperative pool as wide as the machine (two
# threads on CI), and tests that wait for child processes, brokers and sockets then starve each other's
# timing checks. Serial, the suite takes about 5 minutes here; `swift test` alone still runs it in parallel.
swift test --skip-build --no-parallel

# A short fuzzing run over the whole input path, where the toolchain can build libFuzzer targets (Swift on
# Linux x86_64/arm64 can). A crash or leak fails the run; scripts/fuzz.sh SECONDS runs it for longer.
probe=$(mktemp -d)
printf '@_cdecl("LLVMFuzzerTestOneInput") public func probe(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { 0 }\n' > "$probe/probe.swift"
if swiftc -sanitize=fuzzer,address -parse-as-library "$probe/probe.swift" -o "$probe/probe" >/dev/null 2>&1; then
  echo "p1mqtt: fuzz smoke (${FUZZ_SECONDS:-60} s)…" >&2
  fuzz_status=0
  fuzz_output=$(./scripts/fuzz.sh "${FUZZ_SECONDS:-60}" 2>&1) || fuzz_status=$?
  if [ "$fuzz_status" -ne 0 ]; then
    echo "$fuzz_output" | tail -60 >&2
    if [ "$fuzz_status" -eq 3 ]; then
      echo "p1mqtt: the fuzz target does not build (see the compiler's errors above)" >&2
    else
      echo "p1mqtt: the fuzz smoke found a problem (input saved in .build-fuzz/crashes/)" >&2
    fi
    exit 1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" <<< "$fuzz_output" >&2 || true
else
  echo "p1mqtt: this toolchain cannot build libFuzzer targets; fuzz smoke skipped" >&2
fi
rm -rf "$probe"
