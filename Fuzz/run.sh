#!/usr/bin/env bash
# libFuzzer over the config decoder, the mountinfo parser and the INI reader:
#   Fuzz/run.sh [SECONDS]      (default 300)
# Builds the library with -sanitize=fuzzer,address (about a minute on 2 cores), seeds the corpus
# with the example configs, and runs until the time is up or a crash is found (then it exits 1
# and leaves the crashing input in .build/fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
out=.build/fuzz
mkdir -p "$out/corpus"
cp etc/azure/prepost/prepost.yaml Plugins-examples/*.yaml Plugins-examples/*/*.yaml "$out/corpus/" 2>/dev/null || true
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name SnapOrchestrator -I Sources/CYaml -lyaml \
    Fuzz/ConfigDecoderFuzz.swift $(find Sources/SnapOrchestrator -name '*.swift') -o "$out/fuzz-config" 2>&1 |
    grep -v "Cannot export local symbol" || true
cd "$out"
./fuzz-config -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 corpus
