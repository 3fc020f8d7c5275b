#!/bin/sh
# Takes a PNG screenshot of p1mqtt's web page with headless Chromium.
#
#   scripts/screenshot.sh [URL] [OUTPUT.png] [WIDTHxHEIGHT]
#
# URL defaults to http://127.0.0.1:8080/ (add ?token=… when the server wants a token), OUTPUT to
# p1mqtt-page.png, the window to 1280x1700 (use 390x1900 for a phone). The page is captured after three live
# events (?events=3 closes its event stream then: a headless browser's virtual clock stands still while a
# stream is open) and five seconds of virtual time for the history charts.
# Needs chromium (Debian: apt-get install chromium) and a running p1mqtt with the web server enabled.
set -eu

url=${1:-http://127.0.0.1:8080/}
output=${2:-p1mqtt-page.png}
size=${3:-1280x1700}

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
done
[ -n "$browser" ] || { echo "screenshot.sh: chromium is not installed (apt-get install chromium)" >&2; exit 1; }

case "$url" in
    *\?*) url="$url&events=3" ;;
    *) url="$url?events=3" ;;
esac

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
case "$output" in /*) ;; *) output="$(pwd)/$output" ;; esac

# --no-sandbox: Chromium's sandbox needs user namespaces, which containers often lack.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage \
    --hide-scrollbars --user-data-dir="$profile" --virtual-time-budget=5000 \
    --window-size="$(echo "$size" | tr x ,)" --screenshot="$output" "$url" 2>/dev/null
[ -s "$output" ] || { echo "screenshot.sh: no screenshot taken (is p1mqtt's web server running at $url?)" >&2; exit 1; }
echo "$output"
