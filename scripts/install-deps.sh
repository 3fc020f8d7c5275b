#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages p1mqtt needs to build, run and test, only when some are missing.
# Uses sudo only when not root. Safe to run again.
set -euo pipefail
packages=(libmosquitto-dev libssl-dev libsqlite3-dev pkg-config mosquitto mosquitto-clients socat openssl)
# The test suite also traces system calls (strace) and loads the web page in a real browser (chromium). The
# tests that need them are skipped, with a reason, where these cannot be installed (Ubuntu's chromium package
# is only a pointer to a snap, which does not work in containers), so failing to get them is not fatal.
optional=()
if [ "${P1MQTT_TEST_PACKAGES:-0}" = 1 ]; then optional=(strace chromium); fi
missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_optional < <(missing_of ${optional[@]+"${optional[@]}"})
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_optional[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    echo "p1mqtt: installing ${missing[*]}" >&2
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for p in ${missing_optional[@]+"${missing_optional[@]}"}; do
    echo "p1mqtt: installing $p (for the tests)" >&2
    $sudo apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
      echo "p1mqtt: could not install $p; the tests that need it will be skipped" >&2
  done
fi
if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && export PATH="$d:$PATH"
  done
fi
command -v swift >/dev/null 2>&1 || { echo "p1mqtt: the Swift 6 toolchain is required (https://www.swift.org/install/linux/)" >&2; exit 1; }
