#!/usr/bin/env bash
# permessage-deflate: memory per connection and compression ratio per direction, for each
# window and context-takeover setting, with uncompressed connections as the baseline. 2,000
# connections each exchange 5 chat-like JSON messages (~260 bytes) with volley target (which
# accepts the offer as made), then idle; volley's resident memory is read before any connection
# and once all are idle. volley pinned to core 1 (one loop), the target to core 0.
#   bench/deflate.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROUNDS="${1:-3}"
build_volley_release
OUT=/tmp/volley-deflate-bench
rm -rf "$OUT"; mkdir -p "$OUT"
N=2000
SETTINGS=(
  "off|"
  "takeover, 15-bit windows|compression: { deflate: true }"
  "takeover, 12-bit windows|compression: { deflate: true, client_max_window_bits: 12, server_max_window_bits: 12 }"
  "takeover, 9-bit windows|compression: { deflate: true, client_max_window_bits: 9, server_max_window_bits: 9 }"
  "no context takeover|compression: { deflate: true, client_no_context_takeover: true, server_no_context_takeover: true }"
)
echo "== permessage-deflate, $N connections, 5 JSON messages each then idle ($ROUNDS rounds)"
for r in $(seq "$ROUNDS"); do
  for i in "${!SETTINGS[@]}"; do
    name="${SETTINGS[$i]%%|*}"; block="${SETTINGS[$i]#*|}"
    scenario="$OUT/s$i.yaml"
    { cat bench/deflate-chat-2000.yaml; echo "$block"; } > "$scenario"
    taskset -c 0 "$VOLLEY_BIN/volley" target --listen 127.0.0.1:9103 >/dev/null 2>&1 & TPID=$!
    wait_port 9103
    taskset -c 1 "$VOLLEY_BIN/volley" run "$scenario" --loops 1 --quiet --out "$OUT/r$r-s$i" >"$OUT/r$r-s$i.log" 2>&1 &
    VPID=$!
    sleep 1.5; base=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
    sleep 10; loaded=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
    wait "$VPID" || true
    kill "$TPID"; wait "$TPID" 2>/dev/null || true
    python3 - "$OUT/r$r-s$i/results.json" "$base" "$loaded" "$i" "$N" <<'PY' | tee -a "$OUT/rows.txt"
import json, sys
d = json.load(open(sys.argv[1]))
base, loaded, i, n = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
c = {}
for interval in d["intervals"]:
    for k, v in interval["counters"].items(): c[k] = c.get(k, 0) + v
def ratio(direction):
    wire = c.get(f"compression.wire_bytes_{direction}", 0)
    return c.get(f"compression.message_bytes_{direction}", 0) / wire if wire else 1.0
errors = sum(v for k, v in c.items() if k.startswith("errors.") and k.count(".") == 1)
print(f"{i} {(loaded - base) / n:.2f} {ratio('sent'):.2f} {ratio('received'):.2f} {c.get('compression.connections', 0)} {errors}")
PY
  done
done
python3 - "$OUT/rows.txt" "${SETTINGS[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = [s.split("|")[0] for s in sys.argv[2:]]
base = statistics.median(float(r[1]) for r in rows if r[0] == "0")
print(f"{'setting':32} {'KiB/conn':>9} {'extra':>9} {'ratio sent':>11} {'ratio recv':>11} {'deflate conns':>14} errors")
for i, name in enumerate(names):
    mine = [r for r in rows if r[0] == str(i)]
    kib = statistics.median(float(r[1]) for r in mine)
    print(f"{name:32} {kib:9.2f} {kib - base:+9.2f} {statistics.median(float(r[2]) for r in mine):10.2f}x "
          f"{statistics.median(float(r[3]) for r in mine):10.2f}x {min(int(r[4]) for r in mine):14d} {max(int(r[5]) for r in mine)}")
PY
