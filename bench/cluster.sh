#!/usr/bin/env bash
# A multi-host run rehearsed on this machine (as root): deploy/netns-cluster.sh builds 4 agent
# hosts and a target host (2 workers) in network namespaces; the coordinator in the root
# namespace runs scenarios/collision-echo.yaml with 12,000 users (3 barrier bursts) ROUNDS
# times, then the other collision scenarios once.
#   bench/cluster.sh [ROUNDS]
# Prints per run: start spread, and per burst: release spread between agents, send spread,
# the sends' CPU cost (busiest loop / all loops); then the collision scenarios' counts.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
ROUNDS="${1:-3}"
[ "$(id -u)" -eq 0 ] || { echo "bench/cluster.sh needs root (network namespaces)" >&2; exit 2; }
build_volley_release
OUT=/tmp/volley-cluster-bench
rm -rf "$OUT"; mkdir -p "$OUT"
export VOLLEY_NETNS_STATE="$OUT/state"
deploy/netns-cluster.sh up --agents 4 --workers 2 --binary "$VOLLEY_BIN/volley"
trap 'deploy/netns-cluster.sh down' EXIT
# shellcheck disable=SC1091
source "$VOLLEY_NETNS_STATE/cluster.env"
run() {  # run NAME OUTDIR [options]
  local name="$1" out="$2"; shift 2
  "$VOLLEY_BIN/volley" run "scenarios/$name.yaml" --agents "$VOLLEY_AGENTS" --token-file "$VOLLEY_TOKEN_FILE" \
    --target-host "$VOLLEY_TARGET_HOST" --quiet --out "$out" "$@" >/dev/null 2>&1 || true
}
echo "== collision-echo, 12,000 users on 4 agent hosts, 3 bursts ($ROUNDS runs)"
for r in $(seq "$ROUNDS"); do
  run collision-echo "$OUT/echo-$r" --connections 12000
  python3 - "$OUT/echo-$r/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["totals"]["counters"]
ms = lambda us: "%.2f ms" % (us / 1000)
print("run: %d connections opened, %d sent, %d received, errors %d; agents started within %s"
      % (c.get("connections.opened", 0), c.get("messages.sent", 0), c.get("messages.received", 0),
         sum(v for k, v in c.items() if k.startswith("errors.") and k.count(".") == 1),
         ms(d["run"].get("start_spread_us") or 0)))
for b in d["barriers"]:
    print("  %s #%d: %d users, agents released within %s, sends spread over %s; sends cost %s busiest loop, %s all loops"
          % (b["name"], b["generation"] + 1, b["users"], ms(b["release_spread_us"]), ms(b["send_spread_us"]),
             ms(b["slowest_loop_send_cost_us"]), ms(b["total_send_cost_us"])))
PY
done
echo "== the other collision scenarios"
run reconnect-race "$OUT/reconnect" --connections 2000
run broadcast-order "$OUT/order"
run state-convergence "$OUT/state"
run private-collision "$OUT/private"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def load(n): return json.load(open(f"{out}/{n}/results.json"))
def c(d, k): return d["totals"]["counters"].get(k, 0)
def h(d, k): return d["totals"]["histograms"].get(k, {}).get("count", 0)
def errors(d): return sum(v for k, v in d["totals"]["counters"].items() if k.startswith("errors.") and k.count(".") == 1)
def spreads(d): return ", ".join("%s %.2f ms" % (b["name"], b["release_spread_us"] / 1000) for b in d["barriers"])
r = load("reconnect"); print(f"reconnect-race 2000: {c(r,'connections.opened')} connections opened (3 per user), {h(r,'after_reconnect')} echoes after reconnecting, errors {errors(r)}; released within {spreads(r)}")
o = load("order"); print(f"broadcast-order 200: {c(o,'delivery.received')} deliveries, missing {c(o,'delivery.missing')}, duplicated {c(o,'delivery.duplicated')}; {o['order']['receivers']} receivers saw {o['order']['distinct_orders']} orders ({o['order']['divergent_receivers']} differ from the most common: one per target worker)")
s = load("state"); print(f"state-convergence 300: {h(s,'converged')} of 300 clients read the total, errors {errors(s)}; released within {spreads(s)}")
p = load("private"); print(f"private-collision 1000: {h(p,'private_delivery')} private messages delivered, isolation violations {c(p,'errors.isolation_violation')}, errors {errors(p)}")
PY
