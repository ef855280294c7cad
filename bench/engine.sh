#!/usr/bin/env bash
# The load engine against the physical limit of this machine: echo_server.c pinned to core 0,
# the generator pinned to core 1 (one event loop), compared with limit_client.c, the tight C
# client, run the same way in the same session. Rounds alternate (the machine is shared).
#   bench/engine.sh [ROUNDS] [closed|idle|latency|all]
# Prints: closed-loop echo (1000 connections, 32 B) msgs/s and client CPU per round trip;
# 19,000 idle connections: process memory per connection and time to open 10,000;
# single-connection p50 round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROUNDS="${1:-3}"
SECTION="${2:-all}"
build_reference_tools
build_volley_release
OUT=/tmp/volley-engine-bench
rm -rf "$OUT"; mkdir -p "$OUT"

start_echo() { taskset -c 0 /tmp/ws_echo -p 9101 -q >/dev/null 2>&1 & ECHO_PID=$!; wait_port 9101; }
stop_echo() { kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
tick_hz=$(getconf CLK_TCK)

closed_loop() {
echo "== closed-loop echo, 1000 connections, 32-byte messages ($ROUNDS rounds)"
for r in $(seq "$ROUNDS"); do
  start_echo
  c=$(taskset -c 1 /tmp/ws_limit -c 1000 -b 1 -d 10 -w 2 -p 9101 2>&1)
  stop_echo
  c_rate=$(echo "$c" | awk '/msgs\/s/ {print $2}')
  c_cpu=$(echo "$c" | awk '/CPU per round trip/ {for (i=1;i<=NF;i++) if ($i=="us") print $(i-1)}')
  echo "C       $c_rate msgs/s  $c_cpu us CPU/round trip" | tee -a "$OUT/closed.txt"

  start_echo
  taskset -c 1 "$VOLLEY_BIN/volley" run bench/echo-closed-1000.yaml --loops 1 --quiet --out "$OUT/closed-$r" >"$OUT/closed-$r.log" 2>&1 &
  VPID=$!
  sleep 2.2   # into the measured phase (starts at 2 s)
  a=$(cpu_ticks "$VPID"); sleep 10; b=$(cpu_ticks "$VPID")
  wait "$VPID"
  stop_echo
  read -r v_msgs <<<"$(python3 -c "
import json,sys; d=json.load(open('$OUT/closed-$r/results.json'))
print(sum(i['counters'].get('messages.received',0) for i in d['intervals'] if 2 <= i['second'] < 12))")"
  awk -v m="$v_msgs" -v t=$((b - a)) -v hz="$tick_hz" 'BEGIN {
    printf "volley  %d msgs/s  %.2f us CPU/round trip\n", m/10, (t/hz)*1e6/m }' | tee -a "$OUT/closed.txt"
done
c_rate=$(awk '$1=="C" {print $2}' "$OUT/closed.txt" | median)
c_cpu=$(awk '$1=="C" {print $4}' "$OUT/closed.txt" | median)
v_rate=$(awk '$1=="volley" {print $2}' "$OUT/closed.txt" | median)
v_cpu=$(awk '$1=="volley" {print $4}' "$OUT/closed.txt" | median)
awk -v cr="$c_rate" -v cc="$c_cpu" -v vr="$v_rate" -v vc="$v_cpu" 'BEGIN {
  printf "median: C %d msgs/s at %.2f us/rt; volley %d msgs/s at %.2f us/rt\n", cr, cc, vr, vc
  printf "volley/C: CPU per round trip %.2fx (goal <= 1.15), throughput %.2fx (goal >= 0.9)\n", vc/cc, vr/cr }'
}

idle() {
echo "== 19,000 idle connections"
start_echo
c=$(taskset -c 1 /tmp/ws_limit -I -c 19000 -d 2 -p 9101 2>&1)
stop_echo
echo "$c" | grep -E "10000|RSS|per conn" | head -4 | sed 's/^/C       /'
start_echo
taskset -c 1 "$VOLLEY_BIN/volley" run bench/idle-19000.yaml --loops 1 --quiet --out "$OUT/idle" >/dev/null &
VPID=$!
sleep 1.5; base=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
sleep 7.5; loaded=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
wait "$VPID"
stop_echo
python3 - "$OUT/idle/results.json" "$base" "$loaded" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); base, loaded = int(sys.argv[2]), int(sys.argv[3])
opened = d["totals"]["counters"].get("connections.opened", 0)
t10k = next((m["seconds"] for m in d["connection_timeline"] if m["connections"] == 10000), None)
print(f"volley  {opened} connections; RSS {base} KiB -> {loaded} KiB: {(loaded - base) * 1024 / max(opened, 1):.0f} B per connection (goal <= 512)")
if t10k is not None:
    print(f"volley  10,000 connections open {t10k - 2.0:.3f} s after the phase started (goal <= 0.6 s)")
PY
}

latency() {
echo "== one connection, closed-loop echo: p50 round trip"
start_echo
c=$(taskset -c 1 /tmp/ws_limit -c 1 -b 1 -d 8 -w 2 -p 9101 2>&1)
stop_echo
c_p50=$(echo "$c" | awk '/latency us/ {print $4}')
start_echo
taskset -c 1 "$VOLLEY_BIN/volley" run bench/echo-closed-1.yaml --loops 1 --quiet --out "$OUT/one" >/dev/null
stop_echo
v_p50=$(python3 -c "
import json; d=json.load(open('$OUT/one/results.json')); print(d['totals']['histograms']['rtt']['p50_us'])")
awk -v c="$c_p50" -v v="$v_p50" 'BEGIN { printf "p50 round trip: C %.1f us, volley %d us: volley adds %.1f us (goal <= 10)\n", c, v, v - c }'
}

case "$SECTION" in
  closed) closed_loop ;;
  idle) idle ;;
  latency) latency ;;
  all) closed_loop; idle; latency ;;
  *) echo "unknown section $SECTION (closed, idle, latency, all)" >&2; exit 2 ;;
esac
