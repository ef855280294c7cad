#!/usr/bin/env bash
# A rehearsal of a multi-host run on one Linux machine: N agent hosts and a target host, each in
# its own network namespace with its own address on a private bridge, and the coordinator in the
# root namespace, as it would be on a laptop or a CI runner beside real hosts.
#
#   deploy/netns-cluster.sh run [--agents N] [--workers K] [--loops L] [--binary PATH] \
#                               SCENARIO.yaml [volley run options...]
#       builds the cluster, runs the scenario against it (its targets' host and port become the
#       target host's), prints the report and tears everything down, also on failure or Ctrl-C;
#       exits with volley run's status.
#   deploy/netns-cluster.sh up [--agents N] [--workers K] [--loops L] [--binary PATH] [--tls]
#       builds the cluster and leaves it running; prints the volley run options that use it and
#       writes them to $STATE/cluster.env. With --tls the target serves wss:// with a
#       certificate for its address made by openssl (trust it with --tls-ca $STATE/target-cert.pem).
#   deploy/netns-cluster.sh down
#       stops every process in the cluster and removes the namespaces and the bridge.
#
# Needs root (ip netns, veth, bridge) and iproute2. Addresses: the bridge (coordinator) is
# $PREFIX.1, the target $PREFIX.2:8080, agent i $PREFIX.(10+i):7000; PREFIX defaults to
# 10.77.0 (VOLLEY_NETNS_PREFIX). State and logs live in $STATE (VOLLEY_NETNS_STATE, default
# /run/volley-netns).
set -euo pipefail

PREFIX="${VOLLEY_NETNS_PREFIX:-10.77.0}"
STATE="${VOLLEY_NETNS_STATE:-/run/volley-netns}"
BRIDGE=volley-br0
TARGET_NS=volley-target
AGENT_PORT=7000
TARGET_PORT=8080
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

AGENTS=4
WORKERS=2
LOOPS=""
BINARY=""
TLS=""

die() { echo "netns-cluster: $*" >&2; exit 2; }

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

parse_options() {  # sets OPTIONS_USED to the number of arguments consumed
  OPTIONS_USED=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --agents) AGENTS="${2:?--agents needs a number}"; shift 2; OPTIONS_USED=$((OPTIONS_USED + 2)) ;;
      --workers) WORKERS="${2:?--workers needs a number}"; shift 2; OPTIONS_USED=$((OPTIONS_USED + 2)) ;;
      --loops) LOOPS="${2:?--loops needs a number}"; shift 2; OPTIONS_USED=$((OPTIONS_USED + 2)) ;;
      --binary) BINARY="${2:?--binary needs a path}"; shift 2; OPTIONS_USED=$((OPTIONS_USED + 2)) ;;
      --tls) TLS=1; shift; OPTIONS_USED=$((OPTIONS_USED + 1)) ;;
      --) OPTIONS_USED=$((OPTIONS_USED + 1)); return ;;
      -*) die "unknown option $1 (see: $0 help)" ;;
      *) return ;;
    esac
  done
}

check_environment() {
  [ "$(id -u)" -eq 0 ] || die "needs root for network namespaces (run with sudo)"
  command -v ip >/dev/null || die "needs iproute2 (apt-get install iproute2)"
  [[ "$AGENTS" =~ ^[0-9]+$ ]] && [ "$AGENTS" -ge 1 ] && [ "$AGENTS" -le 200 ] || die "--agents takes 1 to 200, got $AGENTS"
  [[ "$WORKERS" =~ ^[0-9]+$ ]] && [ "$WORKERS" -ge 1 ] || die "--workers takes a positive number, got $WORKERS"
  if [ -z "$BINARY" ]; then
    BINARY="$(cd "$REPO" && swift build -c release --show-bin-path)/volley"
    if [ ! -x "$BINARY" ]; then
      echo "netns-cluster: building volley (release)" >&2
      (cd "$REPO" && swift build -c release --product volley >&2)
    fi
  fi
  [ -x "$BINARY" ] || die "no volley binary at $BINARY (pass --binary PATH)"
}

agent_address() { echo "$PREFIX.$((10 + $1))"; }

# Starts a command in a namespace in the background, logging to $STATE/NAME.log.
start_in() {  # start_in NS NAME COMMAND...
  local ns="$1" name="$2"; shift 2
  ip netns exec "$ns" "$@" >"$STATE/$name.log" 2>&1 &
  echo "$!" >"$STATE/$name.pid"
}

wait_listening() {  # wait_listening ADDRESS PORT NAME
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "netns-cluster: $3 is not listening on $1:$2; its log:" >&2
  tail -20 "$STATE/$3.log" >&2 || true
  return 1
}

add_host() {  # add_host NS IFNAME ADDRESS
  ip netns add "$1"
  ip link add "$2" type veth peer name eth0 netns "$1"
  ip link set "$2" master "$BRIDGE" up
  ip -n "$1" addr add "$3/24" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$1" link set lo up
}

check_not_up() {
  if [ -e "$STATE/cluster.env" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a cluster (or what is left of one) is up; run: $0 down"
  fi
}

up() {
  mkdir -p "$STATE"
  ip link add "$BRIDGE" type bridge
  ip link set "$BRIDGE" up
  ip addr add "$PREFIX.1/24" dev "$BRIDGE"
  add_host "$TARGET_NS" volley-vt "$PREFIX.2"
  for i in $(seq "$AGENTS"); do add_host "volley-agent$i" "volley-va$i" "$(agent_address "$i")"; done

  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/token"
  chmod 600 "$STATE/token"
  local tls=()
  if [ -n "$TLS" ]; then
    command -v openssl >/dev/null || die "--tls needs the openssl command (apt-get install openssl)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=volley-target" \
      -addext "subjectAltName=IP:$PREFIX.2" -keyout "$STATE/target-key.pem" -out "$STATE/target-cert.pem" 2>/dev/null \
      || die "openssl could not make the target's certificate"
    tls=(--tls-cert "$STATE/target-cert.pem" --tls-key "$STATE/target-key.pem")
  fi
  start_in "$TARGET_NS" target "$BINARY" target --listen "$PREFIX.2:$TARGET_PORT" --workers "$WORKERS" "${tls[@]}"
  # The simulated hosts share this machine's cores: by default each agent gets its share
  # (one loop per core it would have), so that agents do not wait on each other for a core.
  [ -n "$LOOPS" ] || LOOPS=$(( $(nproc) / AGENTS > 0 ? $(nproc) / AGENTS : 1 ))
  local loops=(--loops "$LOOPS") list=()
  for i in $(seq "$AGENTS"); do
    start_in "volley-agent$i" "agent$i" "$BINARY" agent --listen "$(agent_address "$i"):$AGENT_PORT" \
      --token-file "$STATE/token" --allow-target "$PREFIX.0/24" "${loops[@]}"
    list+=("$(agent_address "$i"):$AGENT_PORT")
  done
  wait_listening "$PREFIX.2" "$TARGET_PORT" target
  for i in $(seq "$AGENTS"); do wait_listening "$(agent_address "$i")" "$AGENT_PORT" "agent$i"; done
  local agents; agents="$(IFS=,; echo "${list[*]}")"
  cat >"$STATE/cluster.env" <<EOF
VOLLEY_AGENTS=$agents
VOLLEY_TOKEN_FILE=$STATE/token
VOLLEY_TARGET_HOST=$PREFIX.2:$TARGET_PORT
VOLLEY_TLS_CA=${TLS:+$STATE/target-cert.pem}
EOF
  echo "netns-cluster: target $PREFIX.2:$TARGET_PORT ($WORKERS workers), $AGENTS agents ($LOOPS loops each): $agents" >&2
  echo "netns-cluster: volley run SCENARIO.yaml --agents $agents --token-file $STATE/token --target-host $PREFIX.2:$TARGET_PORT" >&2
}

down() {
  local namespaces
  mapfile -t namespaces < <(ip netns list | awk '{print $1}' | grep -E "^($TARGET_NS|volley-agent[0-9]+)\$" || true)
  # Everything still running in the namespaces (the target's workers too): TERM, then KILL.
  for ns in "${namespaces[@]}"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -TERM 2>/dev/null || true; done
  for _ in $(seq 50); do
    local left=0
    for ns in "${namespaces[@]}"; do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || left=1; done
    [ "$left" -eq 0 ] && break
    sleep 0.1
  done
  for ns in "${namespaces[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$STATE/cluster.env" "$STATE"/*.pid
}

command="${1:-help}"
[ $# -gt 0 ] && shift
case "$command" in
  up)
    parse_options "$@"; shift "$OPTIONS_USED"
    [ $# -eq 0 ] || die "unexpected argument $1"
    check_environment
    check_not_up
    trap 'status=$?; [ $status -eq 0 ] || { echo "netns-cluster: setup failed; tearing down" >&2; down; }' EXIT
    trap 'exit 130' INT TERM
    up
    ;;
  run)
    parse_options "$@"; shift "$OPTIONS_USED"
    [ $# -ge 1 ] || die "run needs a scenario file"
    scenario="$1"; shift
    check_environment
    check_not_up
    trap 'down' EXIT
    trap 'exit 130' INT TERM
    up
    # shellcheck disable=SC1091
    source "$STATE/cluster.env"
    # Ctrl-C goes to volley run too, which stops early and still reports: keep its status.
    trap ':' INT TERM
    set +e
    "$BINARY" run "$scenario" --agents "$VOLLEY_AGENTS" --token-file "$VOLLEY_TOKEN_FILE" --target-host "$VOLLEY_TARGET_HOST" "$@"
    status=$?
    set -e
    exit "$status"
    ;;
  down)
    [ "$(id -u)" -eq 0 ] || die "needs root"
    down
    ;;
  help|-h|--help) usage ;;
  *) die "unknown command $command (up, run, down, help)" ;;
esac
