#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium and saves a PNG of its top (how
# docs/report.png was made): scripts/report-screenshot.sh RESULTS_DIR/report.html OUT.png [HEIGHT]
# Needs Debian's chromium package (apt-get install chromium).
set -euo pipefail
html="$(realpath "$1")"; out="$2"; height="${3:-1480}"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "report-screenshot: install chromium (apt-get install chromium)" >&2; exit 2; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1100,$height" \
  --screenshot="$(realpath -m "$out")" "file://$html" 2>/dev/null
echo "report-screenshot: $out"
