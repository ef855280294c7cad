#!/usr/bin/env bash
# Echo throughput of `volley target` against the C reference echo server (echo_server.c), on the
# same workload: limit_client.c, 1000 connections, one 32-byte message in flight each, closed
# loop. The server is pinned to core 0 and the client to core 1. The two servers alternate for
# ROUNDS rounds (the machine is shared and noisy) and the medians are compared.
#   bench/echo-server.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROUNDS="${1:-5}" SECONDS_PER_RUN="${2:-5}"
build_reference_tools
build_volley_release

run_one() {  # run_one NAME PORT COMMAND...
  local name=$1 port=$2; shift 2
  taskset -c 0 "$@" >/dev/null 2>&1 &
  local pid=$!
  wait_port "$port"
  local out
  out=$(taskset -c 1 /tmp/ws_limit -c 1000 -b 1 -d "$SECONDS_PER_RUN" -w 1 -p "$port" -S "$pid" 2>&1)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rate cpu
  rate=$(echo "$out" | awk '/msgs\/s/ {print $2}')
  cpu=$(echo "$out" | awk '/server pid/ {gsub("%","",$5); print $5}')
  echo "$name $rate $cpu"
}

: > /tmp/volley-echo-bench.txt
for r in $(seq "$ROUNDS"); do
  run_one volley 9102 "$VOLLEY_BIN/volley" target --listen 127.0.0.1:9102 | tee -a /tmp/volley-echo-bench.txt
  run_one c 9101 /tmp/ws_echo -p 9101 -q | tee -a /tmp/volley-echo-bench.txt
done
v=$(awk '$1=="volley" {print $2}' /tmp/volley-echo-bench.txt | median)
c=$(awk '$1=="c" {print $2}' /tmp/volley-echo-bench.txt | median)
vcpu=$(awk '$1=="volley" {print $3}' /tmp/volley-echo-bench.txt | median)
ccpu=$(awk '$1=="c" {print $3}' /tmp/volley-echo-bench.txt | median)
echo "median echo throughput: volley target $v msgs/s (server CPU ${vcpu}%), echo_server.c $c msgs/s (server CPU ${ccpu}%)"
awk -v v="$v" -v c="$c" -v vc="$vcpu" -v cc="$ccpu" 'BEGIN {
  printf "ratio volley/C: %.2f (goal >= 1.00); server CPU per echo: volley %.2f us, C %.2f us\n", v/c, vc*1e4/v, cc*1e4/c }'
