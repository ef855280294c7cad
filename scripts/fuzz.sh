#!/usr/bin/env bash
# Fuzzes volley's parsers with libFuzzer (the toolchain's -sanitize=fuzzer): the WebSocket
# client fed hostile server bytes (frames, frames-deflate), HTTP heads (http), the
# coordinator-agent messages (wire) and scenario files (scenario). See Sources/volley-fuzz.
#   scripts/fuzz.sh [TARGET|all] [RUNS]      default: all, 10,000,000 runs each
#   scripts/fuzz.sh --ci                     every target briefly (CI): 60,000 runs each
# VOLLEY_FUZZ_MAX_LEN caps the input size (default 65536).
# Corpora grow in ${VOLLEY_FUZZ_CORPUS:-/tmp/volley-fuzz-corpus}/TARGET, starting from seeds
# volley writes with its own encoders; a crash leaves its input in the current directory
# (replay: swift build --product volley-fuzz && .build/debug/volley-fuzz TARGET FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="frames frames-deflate http wire scenario"
WHICH="${1:-all}"
RUNS="${2:-10000000}"
if [ "$WHICH" = "--ci" ]; then WHICH=all; RUNS=60000; fi
[ "$WHICH" = "all" ] || TARGETS="$WHICH"
CORPUS="${VOLLEY_FUZZ_CORPUS:-/tmp/volley-fuzz-corpus}"
BUILD="${VOLLEY_FUZZ_BUILD:-/tmp/volley-fuzz-build}"
MAX_LEN="${VOLLEY_FUZZ_MAX_LEN:-65536}"     # the largest input libFuzzer makes

swift build -c release --product volley-fuzz --scratch-path "$BUILD" -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING >/dev/null
swift build --product volley-fuzz >/dev/null
FUZZER="$BUILD/release/volley-fuzz"
REPLAY="$(swift build --show-bin-path)/volley-fuzz"
mkdir -p "$CORPUS"
"$REPLAY" seeds "$CORPUS" scenarios/*.yaml

# libFuzzer, not Swift's backtracer, must see a crash: it writes the input that caused it.
export SWIFT_BACKTRACE=enable=no
for target in $TARGETS; do
  log="$(mktemp)"
  start=$(date +%s)
  if ! VOLLEY_FUZZ_TARGET="$target" "$FUZZER" -runs="$RUNS" -max_len="$MAX_LEN" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 "$CORPUS/$target" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz $target: FAILED (the input is in ./crash-* or ./timeout-*; see above)"
    exit 1
  fi
  secs=$(( $(date +%s) - start ))
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  echo "fuzz $target: $runs runs in ${secs}s, coverage $cov edges, corpus $(ls "$CORPUS/$target" | wc -l) inputs, no failure"
  rm -f "$log"
done
