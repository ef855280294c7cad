#!/usr/bin/env bash
# Installs what volley's tests need beyond the Swift toolchain, idempotently:
#   apt:  python3-venv (for the reference checkers), iproute2 (network namespaces for the
#         multi-host test, which runs as root), openssl (the wss:// namespace cluster's certificate)
#   pip:  hdrhistogram==0.10.8 in /tmp/hdr-venv (the reference HdrHistogram, via hdr_check.py);
#         websockets==17.4, trustme==1.2.1, python-socketio==5.11.4 and uvicorn==0.30.6 in
#         /tmp/interop-venv (third-party TLS WebSocket peers, certificates made by a private CA,
#         and a Socket.IO server, for the interoperability tests)
# apt packages are installed only when missing, and only as root (CI runs as root).
set -euo pipefail

bash "$(dirname "$0")/setup-build-deps.sh"

APT_PACKAGES=(python3-venv iproute2 openssl)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-test-deps: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup-test-deps: missing apt packages (${missing[*]}); run as root or install them" >&2
  fi
fi

HDR_VENV="${VOLLEY_HDR_VENV:-/tmp/hdr-venv}"
if ! "$HDR_VENV/bin/python" -c 'import hdrh' >/dev/null 2>&1; then
  echo "setup-test-deps: creating $HDR_VENV with hdrhistogram==0.10.8"
  python3 -m venv "$HDR_VENV"
  "$HDR_VENV/bin/pip" install -q --disable-pip-version-check hdrhistogram==0.10.8
fi

INTEROP_VENV="${VOLLEY_INTEROP_VENV:-/tmp/interop-venv}"
if ! "$INTEROP_VENV/bin/python" -c 'import websockets, trustme, socketio, uvicorn' >/dev/null 2>&1; then
  echo "setup-test-deps: creating $INTEROP_VENV with websockets, trustme, python-socketio, uvicorn"
  python3 -m venv "$INTEROP_VENV"
  "$INTEROP_VENV/bin/pip" install -q --disable-pip-version-check websockets==17.4 trustme==1.2.1 \
    python-socketio==5.11.4 uvicorn==0.30.6
fi
