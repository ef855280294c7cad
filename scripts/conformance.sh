#!/usr/bin/env bash
# Runs the Autobahn|Testsuite against volley's WebSocket client and server, using
# ../shared/tools (Python 2.7 under pyenv, set up on first use). Fails if any case FAILED.
#   scripts/conformance.sh [debug|release] [quick|full]
# quick (default, CI): cases 1-11, and a sample of the permessage-deflate cases 12.* and 13.*
# (one per group: every message size and every window and context-takeover setting);
# full: every case including all 216 deflate cases (about 20 minutes per side).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${1:-debug}"
SCOPE="${2:-quick}"
TOOLS="${VOLLEY_SHARED_TOOLS:-../shared/tools}"
BIN="$(swift build -c "$CONFIG" --show-bin-path)"
swift build -c "$CONFIG" --product volley >/dev/null
swift build -c "$CONFIG" --product volley-conformance >/dev/null
OUT="${VOLLEY_CONFORMANCE_OUT:-/tmp/volley-autobahn}"
PORT="${VOLLEY_CONFORMANCE_PORT:-9002}"
rm -rf "$OUT"
DEFLATE_SAMPLE='12.1.1,12.1.11,12.2.5,12.3.9,12.4.13,12.5.18,13.1.1,13.2.3,13.3.7,13.4.9,13.5.11,13.6.13,13.7.18'
[ "$SCOPE" = full ] && DEFLATE_SAMPLE='12.*,13.*'

client() {  # client NAME [autobahn_client.sh options]
  local name="$1"; shift
  bash "$TOOLS/autobahn_client.sh" --outdir "$OUT/$name" --agent volley-client "$@" \
    -- "$BIN/volley-conformance" autobahn-client {URL} {AGENT} | grep -E "OK=|behaviorClose|FAILED|missing|client exited"
}
server() {  # server NAME [autobahn_server.sh options]
  local name="$1"; shift
  bash "$TOOLS/autobahn_server.sh" --outdir "$OUT/$name" --agent volley-target "$@" \
    --start "$BIN/volley target --listen 127.0.0.1:$PORT" "$PORT" | grep -E "OK=|behaviorClose|FAILED|missing"
}

echo "== Autobahn fuzzingserver vs volley's client (cases 1-11)"
client client
echo "== Autobahn fuzzingserver vs volley's client (permessage-deflate: $DEFLATE_SAMPLE)"
client client-deflate --include-deflate --cases "$DEFLATE_SAMPLE"
echo "== Autobahn fuzzingclient vs volley target (server, cases 1-11)"
server server
echo "== Autobahn fuzzingclient vs volley target (server, permessage-deflate: $DEFLATE_SAMPLE)"
server server-deflate --include-deflate --cases "$DEFLATE_SAMPLE"
echo "== Autobahn: no case failed (reports in $OUT)"
