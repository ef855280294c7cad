#!/usr/bin/env bash
# User-space instructions per round trip of the load engine, counted by callgrind (repeatable
# whatever else the machine does), for this working tree and a git revision side by side:
#   bench/instructions.sh [REV]     (default REV: HEAD)
# Each build runs a closed-loop echo (50 connections, 32-byte messages, against echo_server.c)
# for 4 s and for 8 s under callgrind; the marginal count (Ir_8 - Ir_4) / (msgs_8 - msgs_4)
# leaves out start-up and shutdown. Kernel time is not counted (it is the same system calls).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
REV="${1:-HEAD}"
command -v valgrind >/dev/null || { echo "instructions.sh needs valgrind (apt-get install valgrind)" >&2; exit 2; }
build_reference_tools
build_volley_release
WORK=/tmp/volley-instructions
rm -rf "$WORK"; mkdir -p "$WORK"
git worktree remove --force "$WORK/base" 2>/dev/null || true
git worktree add -f --detach "$WORK/base" "$REV" >/dev/null
(cd "$WORK/base" && swift build -c release --product volley >/dev/null)
# valgrind 3.19 cannot read the toolchain's DWARF 5: count on copies without debug info.
cp "$WORK/base/.build/release/volley" "$WORK/volley-base"; cp "$VOLLEY_BIN/volley" "$WORK/volley-tree"
strip -g "$WORK/volley-base" "$WORK/volley-tree"
for d in 4 8; do
  cat > "$WORK/echo-$d.yaml" <<YAML
name: instructions
target: ws://127.0.0.1:9101/
model: closed
phases: [{ duration: ${d}s, connections: 50 }]
steps:
  - connect
  - loop:
      - send: "0123456789abcdef0123456789abcdef"
      - expect: { within: 5s, measure: rtt }
YAML
done
for which in base tree; do
  for d in 4 8; do
    taskset -c 0 /tmp/ws_echo -p 9101 -q >/dev/null 2>&1 & ECHO_PID=$!
    wait_port 9101
    taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$WORK/$which-$d.cg" "$WORK/volley-$which" run "$WORK/echo-$d.yaml" \
      --loops 1 --quiet --out "$WORK/$which-$d" >/dev/null 2>&1
    kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/$which-$d.cg")
    msgs=$(python3 -c "import json; print(json.load(open('$WORK/$which-$d/results.json'))['totals']['counters']['messages.received'])")
    echo "$which $d $ir $msgs" >> "$WORK/counts.txt"
  done
done
git worktree remove --force "$WORK/base" >/dev/null
awk -v rev="$REV" '{ir[$1,$2]=$3; m[$1,$2]=$4} END {
  b = (ir["base",8]-ir["base",4]) / (m["base",8]-m["base",4]); t = (ir["tree",8]-ir["tree",4]) / (m["tree",8]-m["tree",4])
  printf "user-space instructions per round trip: %s %.0f, working tree %.0f (%.2fx)\n", rev, b, t, t / b }' "$WORK/counts.txt"
