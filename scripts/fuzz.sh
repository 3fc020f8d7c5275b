#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/FuzzTarget.swift plus the engine's sources, with address sanitizer) and
# runs it for SECONDS (default 60) on a corpus seeded with the project's telegrams. Crashes are written to
# .build-fuzz/crashes/; each one found becomes a regression test. Usage: scripts/fuzz.sh [SECONDS].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
seconds=${1:-60}
out=.build-fuzz
mkdir -p "$out/modules" "$out/corpus" "$out/crashes"
flags=(-sanitize=fuzzer,address -O -g)
# Mapping as its own module, then the engine's I/O-free stages and the target as one module that imports it.
swiftc "${flags[@]}" -parse-as-library -emit-module -emit-library -static -module-name Mapping \
  -emit-module-path "$out/modules/Mapping.swiftmodule" -o "$out/libMapping.a" Sources/Mapping/*.swift \
  || { echo "fuzz: the fuzz target does not build (Mapping)" >&2; exit 3; }
engine=(Sources/P1MQTT/Framing/*.swift Sources/P1MQTT/Parsing/*.swift Sources/P1MQTT/Pipeline/*.swift
        Sources/P1MQTT/Output/*.swift Sources/P1MQTT/Readings/*.swift Sources/P1MQTT/MeterSources/RFXtrxUnwrapper.swift
        Sources/P1MQTT/MeterSources/ByteSource.swift Sources/P1MQTT/P1MQTTVersion.swift)
swiftc "${flags[@]}" -parse-as-library -module-name P1MQTTFuzz -I "$out/modules" -I Sources/COpenSSLCrypto \
  "${engine[@]}" Fuzz/FuzzTarget.swift "$out/libMapping.a" -lcrypto -o "$out/p1mqtt-fuzz" \
  || { echo "fuzz: the fuzz target does not build (the engine's sources above; a file there may import a module the target lacks)" >&2; exit 3; }
for file in examples/telegrams/*.txt; do
  cp "$file" "$out/corpus/$(basename "$file")"
  # Variants of the seed with other selector bytes: chunking, parity, RFXtrx path.
  for selector in 1 2 9 33; do printf "\\x$(printf %02x $selector)" | cat - "$file" > "$out/corpus/$selector-$(basename "$file")"; done
done
"$out/p1mqtt-fuzz" "$out/corpus" -max_total_time="$seconds" -max_len=20000 -artifact_prefix="$out/crashes/" \
  -print_final_stats=1
