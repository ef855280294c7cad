# Shared helpers for the benchmark scripts (sourced).
TOOLS="${VOLLEY_SHARED_TOOLS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/tools}"

# The C references link OpenSSL (their TLS mode); rebuilt whenever their source is newer.
build_reference_tools() {
  [ /tmp/ws_limit -nt "$TOOLS/limit_client.c" ] || gcc -O2 -Wall -o /tmp/ws_limit "$TOOLS/limit_client.c" -lssl -lcrypto
  [ /tmp/ws_echo -nt "$TOOLS/echo_server.c" ] || gcc -O2 -Wall -o /tmp/ws_echo "$TOOLS/echo_server.c" -lssl -lcrypto
}

build_volley_release() {
  swift build -c release --product volley >/dev/null
  swift build -c release --product volley-bench >/dev/null
  VOLLEY_BIN="$(swift build -c release --show-bin-path)"
}

wait_port() {  # wait_port PORT
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listening on port $1" >&2; return 1
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
