#!/usr/bin/env bash
# Runs every volley test: unit, property and integration tests, with the reference
# cross-checks (Python HdrHistogram) required rather than skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
export VOLLEY_REQUIRE_REFERENCES=1
export VOLLEY_HDR_PYTHON="${VOLLEY_HDR_VENV:-/tmp/hdr-venv}/bin/python"
swift build --build-tests
swift test --skip-build
