#!/usr/bin/env bash
# The first thing to run: installs the C libraries volley links when missing (libssl-dev,
# zlib1g-dev), builds volley in release mode and runs `volley demo` (arguments are passed on,
# e.g. scripts/demo.sh --tls).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-build-deps.sh
exec swift run -c release volley demo "$@"
