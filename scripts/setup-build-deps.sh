#!/usr/bin/env bash
# Installs the system C libraries volley links, idempotently: libssl-dev (OpenSSL 3, linked
# statically, for wss:// and the encrypted control channel) and zlib1g-dev (histogram logs and
# permessage-deflate). apt packages are installed only when missing, and only as root.
set -euo pipefail

APT_PACKAGES=(libssl-dev zlib1g-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup-build-deps: apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup-build-deps: volley needs ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
