#!/bin/sh
# Installs the Debian 12 packages that building, running and testing Ferry need.
# Fast when everything is present: one dpkg-query, no apt at all.
set -eu

BUILD="cmake ninja-build g++ pkg-config
  qt6-base-dev qt6-websockets-dev qt6-httpserver-dev
  libsqlite3-dev liblua5.4-dev libtomlplusplus-dev libsimdjson-dev libsystemd-dev"
# Real peers the tests speak to.
TEST="mosquitto mosquitto-clients python3 python3-paho-mqtt sqlite3 procps systemd man-db"
# Extra sets by argument: `deps.sh deb` adds the packaging tools.
DEB="debhelper devscripts lintian fakeroot dpkg-dev systemd"
# `deps.sh cross`: cross-building the .deb for arm64 and armhf (packaging/cross/build-cross.sh):
# Debian's cross compilers, mmdebstrap for the target sysroot, qemu-user for the smoke test.
CROSS="mmdebstrap qemu-user-static file
  g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  g++-arm-linux-gnueabihf binutils-arm-linux-gnueabihf"

want="$BUILD $TEST"
for extra in "$@"; do
  case "$extra" in
    deb) want="$want $DEB" ;;
    cross) want="$want $CROSS" ;;
    *) echo "deps.sh: unknown set '$extra'" >&2; exit 2 ;;
  esac
done

missing=""
for pkg in $want; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
# The Debian mosquitto package starts a system broker on :1883; tests never use it,
# and it would only get in the way of `make run`'s default port.
if [ -d /run/systemd/system ]; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
