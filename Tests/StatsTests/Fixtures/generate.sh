#!/usr/bin/env bash
# Regenerates the reference vectors used by ReferenceVectorTests from the Python HdrHistogram
# (PyPI hdrhistogram 0.10.8) through ../shared/tools/hdr_check.py. Committed outputs are the
# source of truth; run this only to add vectors.
set -euo pipefail
cd "$(dirname "$0")"
TOOLS="${VOLLEY_SHARED_TOOLS:-../../../../shared/tools}"
PY="${VOLLEY_HDR_PYTHON:-/tmp/hdr-venv/bin/python}"
PCTS="0,1,25,50,75,90,95,99,99.5,99.9,99.99,99.999,100"
gen() { # name seed count extra-args...
  local name=$1 seed=$2 count=$3; shift 3
  "$PY" "$TOOLS/hdr_check.py" gen --seed "$seed" --count "$count" --percentiles "$PCTS" \
    --values-out "$name.values" "$@" > "$name.json"
}
gen default-s1 1 20000
gen default-s2 2 20000 --sigma 2.0
gen odd-7 3 7
gen odd-13 4 13
gen single 5 1
gen sig2-narrow 6 5000 --highest 10000000 --sigfig 2
gen sig5 7 5000 --highest 100000000 --sigfig 5 --mu 9
gen sig1 8 3000 --sigfig 1
gen nanos 9 10000 --lowest 1000 --highest 3600000000000 --mu 13.8 --sigma 1.5
gen heavy-tail 10 20000 --sigma 3.0
