#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, checks that the README's
# first command (scripts/demo.sh) shows live data, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
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

swift test --skip-build
