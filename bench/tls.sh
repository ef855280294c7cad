#!/usr/bin/env bash
# volley over TLS (wss://) against the C reference in TLS mode, in the same session: the
# reference server echo_server.c -T/-K pinned to core 0, the generator pinned to core 1 (one
# event loop), limit_client.c -t run the same way. Rounds alternate (the machine is shared).
#   bench/tls.sh [ROUNDS] [echo|handshakes|all]
# echo: closed-loop echo over TLS, 1000 connections, 32-byte messages: client CPU per round trip.
# handshakes: 10,000 connections with full ECDSA P-256 handshakes (at most 256 pending) held
# idle, and 10,000 resumed handshakes: handshakes per second and client CPU per handshake of
# each kind; memory per idle wss:// connection. Certificates are not verified by either client
# (limit_client.c's -t does not verify).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROUNDS="${1:-3}"
SECTION="${2:-all}"
build_reference_tools
build_volley_release
OUT=/tmp/volley-tls-bench
rm -rf "$OUT"; mkdir -p "$OUT"
command -v openssl >/dev/null || { echo "tls.sh needs the openssl command" >&2; exit 2; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null

start_echo() { taskset -c 0 /tmp/ws_echo -p 9102 -q -T "$OUT/cert.pem" -K "$OUT/key.pem" >/dev/null 2>&1 & ECHO_PID=$!; wait_port 9102; }
stop_echo() { kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null || true; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
tick_hz=$(getconf CLK_TCK)

echo_loop() {
echo "== closed-loop echo over TLS, 1000 connections, 32-byte messages ($ROUNDS rounds)"
for r in $(seq "$ROUNDS"); do
  start_echo
  c=$(taskset -c 1 /tmp/ws_limit -t -c 1000 -b 1 -d 10 -w 2 -p 9102 2>&1)
  stop_echo
  c_rate=$(echo "$c" | awk '/msgs\/s/ {print $2}')
  c_cpu=$(echo "$c" | awk '/CPU per round trip/ {for (i=1;i<=NF;i++) if ($i=="us") print $(i-1)}')
  echo "C       $c_rate msgs/s  $c_cpu us CPU/round trip" | tee -a "$OUT/echo.txt"

  start_echo
  taskset -c 1 "$VOLLEY_BIN/volley" run bench/wss-echo-closed-1000.yaml --loops 1 --quiet --out "$OUT/echo-$r" >"$OUT/echo-$r.log" 2>&1 &
  VPID=$!
  sleep 2.2   # into the measured phase (starts at 2 s)
  a=$(cpu_ticks "$VPID"); sleep 10; b=$(cpu_ticks "$VPID")
  wait "$VPID" || true
  stop_echo
  v_msgs=$(python3 -c "
import json; d=json.load(open('$OUT/echo-$r/results.json'))
print(sum(i['counters'].get('messages.received',0) for i in d['intervals'] if 2 <= i['second'] < 12))")
  awk -v m="$v_msgs" -v t=$((b - a)) -v hz="$tick_hz" 'BEGIN {
    printf "volley  %d msgs/s  %.2f us CPU/round trip\n", m/10, (t/hz)*1e6/m }' | tee -a "$OUT/echo.txt"
done
c_rate=$(awk '$1=="C" {print $2}' "$OUT/echo.txt" | median)
c_cpu=$(awk '$1=="C" {print $4}' "$OUT/echo.txt" | median)
v_rate=$(awk '$1=="volley" {print $2}' "$OUT/echo.txt" | median)
v_cpu=$(awk '$1=="volley" {print $4}' "$OUT/echo.txt" | median)
awk -v cr="$c_rate" -v cc="$c_cpu" -v vr="$v_rate" -v vc="$v_cpu" 'BEGIN {
  printf "median: C %d msgs/s at %.2f us/rt; volley %d msgs/s at %.2f us/rt\n", cr, cc, vr, vc
  printf "volley/C over TLS: CPU per round trip %.2fx (goal <= 1.1), throughput %.2fx\n", vc/cc, vr/cr }'
}

handshakes() {
echo "== 10,000 wss:// connections: full handshakes, memory per idle connection, resumed handshakes ($ROUNDS rounds)"
for r in $(seq "$ROUNDS"); do
  for mode in full resumed; do
    flag=""; [ "$mode" = resumed ] && flag="-R"
    start_echo
    c=$(taskset -c 1 /tmp/ws_limit -t $flag -I -c 10000 -d 1 -p 9102 2>&1)
    stop_echo
    echo "$c" | awk -v mode="$mode" '
      /connections open \(WS handshake done\) in/ {t=$(NF-1)}
      /client CPU for the ramp/ {for (i=1;i<=NF;i++) { if ($i ~ /us\/conn/) {gsub(/[(]/,"",$(i-1)); cpu=$(i-1)} if ($i=="KiB/conn,") kib=$(i-1) }}
      END { printf "C       %s %.0f handshakes/s  %.0f us CPU/handshake  %.2f KiB/conn\n", mode, 10000/t, cpu, kib }' | tee -a "$OUT/handshakes.txt"
  done
  start_echo
  taskset -c 1 "$VOLLEY_BIN/volley" run bench/wss-handshakes-10000.yaml --loops 1 --quiet --out "$OUT/full-$r" >"$OUT/full-$r.log" 2>&1 &
  VPID=$!
  sleep 1.5; base=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
  sleep 13; loaded=$(awk '/VmRSS/ {print $2}' "/proc/$VPID/status")
  wait "$VPID" || true
  stop_echo
  start_echo
  taskset -c 1 "$VOLLEY_BIN/volley" run bench/wss-resume-10000.yaml --loops 1 --quiet --out "$OUT/resume-$r" >"$OUT/resume-$r.log" 2>&1 || true
  stop_echo
  python3 - "$OUT/full-$r/results.json" "$OUT/resume-$r/results.json" "$base" "$loaded" <<'PY' | tee -a "$OUT/handshakes.txt"
import json, sys
full, resumed = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
base, loaded = int(sys.argv[3]), int(sys.argv[4])
def seconds(d, key):
    # (handshakes, CPU ms) of each second that did handshakes of this kind
    return [(i["counters"].get(key, 0), i["counters"].get("agent.cpu_ms", 0)) for i in d["intervals"] if i["counters"].get(key, 0) > 0]
f = seconds(full, "tls.handshakes")
ramp = {m["connections"]: m["seconds"] for m in full.get("connection_timeline", [])}.get(10000, 0) - 2.0
print(f"volley  full {10000 / ramp:.0f} handshakes/s  {sum(c for _, c in f) * 1000 / sum(n for n, _ in f):.0f} us CPU/handshake  {(loaded - base) / 10000:.2f} KiB/conn")
r = seconds(resumed, "tls.resumed")
whole = r[1:-1] or r    # the first and last seconds are partly idle
print(f"volley  resumed {sum(n for n, _ in whole) / len(whole):.0f} handshakes/s  {sum(c for _, c in r) * 1000 / sum(n for n, _ in r):.0f} us CPU/handshake  -")
PY
done
python3 - "$OUT/handshakes.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(who, mode, col): return statistics.median(float(r[col]) for r in rows if r[0] == who and r[1] == mode)
for mode in ("full", "resumed"):
    c, v = med("C", mode, 2), med("volley", mode, 2)
    cc, vc = med("C", mode, 4), med("volley", mode, 4)
    print(f"median {mode}: C {c:.0f}/s at {cc:.0f} us; volley {v:.0f}/s at {vc:.0f} us: rate {v / c:.2f}x (goal >= 0.9), CPU {vc / cc:.2f}x")
ck, vk = med("C", "full", 7), med("volley", "full", 7)
print(f"memory per idle wss:// connection: C {ck:.2f} KiB, volley {vk:.2f} KiB: {vk / ck:.2f}x (goal <= 1.25)")
PY
}

case "$SECTION" in
  echo) echo_loop ;;
  handshakes) handshakes ;;
  all) echo_loop; handshakes ;;
  *) echo "unknown section $SECTION (echo, handshakes, all)" >&2; exit 2 ;;
esac
