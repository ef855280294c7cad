#!/usr/bin/env bash
# Runs the Autobahn|Testsuite (cases 1-11) against volley's WebSocket client and server, using
# ../shared/tools (Python 2.7 under pyenv, set up on first use). Fails if any case FAILED.
#   scripts/conformance.sh [debug|release]   (default debug: the build the tests already made)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${1:-debug}"
TOOLS="${VOLLEY_SHARED_TOOLS:-../shared/tools}"
BIN="$(swift build -c "$CONFIG" --show-bin-path)"
swift build -c "$CONFIG" --product volley >/dev/null
swift build -c "$CONFIG" --product volley-conformance >/dev/null
OUT="${VOLLEY_CONFORMANCE_OUT:-/tmp/volley-autobahn}"
rm -rf "$OUT"

echo "== Autobahn fuzzingserver vs volley's client"
bash "$TOOLS/autobahn_client.sh" --outdir "$OUT/client" --agent volley-client \
  -- "$BIN/volley-conformance" autobahn-client {URL} {AGENT} | grep -E "OK=|behaviorClose|FAILED|missing|client exited" 

PORT="${VOLLEY_CONFORMANCE_PORT:-9002}"
echo "== Autobahn fuzzingclient vs volley target (server)"
bash "$TOOLS/autobahn_server.sh" --outdir "$OUT/server" --agent volley-target \
  --start "$BIN/volley target --listen 127.0.0.1:$PORT" "$PORT" | grep -E "OK=|behaviorClose|FAILED|missing"
echo "== Autobahn: no case failed (reports in $OUT)"
