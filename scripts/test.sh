#!/usr/bin/env bash
# Runs every volley test: unit, property and integration tests (swift test) with the reference
# cross-checks required rather than skipped, then the Autobahn conformance runs and a short
# libFuzzer run of every parser (scripts/fuzz.sh --ci; long runs: scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
export VOLLEY_REQUIRE_REFERENCES=1
export VOLLEY_HDR_PYTHON="${VOLLEY_HDR_VENV:-/tmp/hdr-venv}/bin/python"
swift build --build-tests
swift test --skip-build
bash scripts/conformance.sh debug
bash scripts/fuzz.sh --ci
