#!/bin/sh
# `make deb ARCH=arm64`: cross-builds ferry_<version>_arm64.deb and smoke-tests it under qemu-user.
#
#  1. An arm64 sysroot of Debian 12 packages (the -dev packages of deps.sh's BUILD set and their
#     dependencies), extracted by mmdebstrap --variant=extract into build-arm64/sysroot. Nothing
#     arm64 runs during this step, so no binfmt_misc is needed. Kept between runs.
#  2. dpkg-buildpackage --host-arch arm64 with Debian's aarch64 cross compiler, the host's Qt tools
#     (moc, rcc) and packaging/cross/aarch64-linux-gnu.cmake. dpkg-shlibdeps computes Depends
#     from the sysroot packages' own symbols/shlibs files (collected into sysroot/DEBIAN).
#  3. The packaged ferryd runs under qemu-aarch64-static with the sysroot as its library root:
#     --version, --check-config of the packaged ferry.toml, then a broker on a free loopback
#     port that mosquitto_pub/mosquitto_sub (host programs) publish to and subscribe from.
# Slow (the sysroot is about 1 GB, the build runs in a full cross toolchain): not in `make test`.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=${FERRY_CROSS_DIR:-$root/build-arm64}
sysroot=$work/sysroot
out=${DEB_OUT:-$root/build-deb}
suite=bookworm
mirror=${FERRY_MIRROR:-http://deb.debian.org/debian}
security=${FERRY_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

tools="mmdebstrap qemu-user-static g++-aarch64-linux-gnu binutils-aarch64-linux-gnu file"
missing=""
for pkg in $tools; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "build-arm64: missing host packages:$missing (apt-get install$missing)" >&2
  exit 1
fi

# Everything the BUILD set of packaging/deps.sh has as a library, for arm64.
dev="libc6-dev libstdc++-12-dev qt6-base-dev qt6-websockets-dev qt6-httpserver-dev
  libsqlite3-dev liblua5.4-dev libtomlplusplus-dev libsimdjson-dev libsystemd-dev"
stamp=$sysroot/.ferry-sysroot
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(echo $dev)" ]; then
  rm -rf "$sysroot"
  mkdir -p "$work"
  echo "build-arm64: making the arm64 sysroot in $sysroot"
  mmdebstrap --variant=extract --architectures=arm64 --skip=cleanup/apt/cache \
    --include="$(echo $dev | tr ' ' ',')" "$suite" "$sysroot" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb $security $suite-security main"
  # Absolute symlinks (libfoo.so -> /lib/aarch64-linux-gnu/libfoo.so.1) would point into the
  # host: make them relative so that they resolve inside the sysroot.
  find "$sysroot" -type l | while read -r link; do
    target=$(readlink "$link")
    case "$target" in
      /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link" ;;
    esac
  done
  # dpkg-shlibdeps -S<sysroot> reads DEBIAN/symbols and DEBIAN/shlibs under the search root:
  # concatenate those of every extracted package.
  mkdir -p "$sysroot/DEBIAN"
  : > "$sysroot/DEBIAN/symbols"
  : > "$sysroot/DEBIAN/shlibs"
  ctl=$(mktemp -d)
  for deb in "$sysroot"/var/cache/apt/archives/*.deb; do
    rm -rf "$ctl"/*
    dpkg-deb -e "$deb" "$ctl"
    [ -f "$ctl/symbols" ] && cat "$ctl/symbols" >> "$sysroot/DEBIAN/symbols"
    [ -f "$ctl/shlibs" ] && cat "$ctl/shlibs" >> "$sysroot/DEBIAN/shlibs"
  done
  rm -rf "$ctl"
  echo $dev > "$stamp"
fi

export FERRY_SYSROOT="$sysroot"
export FERRY_TOOLCHAIN="$root/packaging/cross/aarch64-linux-gnu.cmake"
DEB_HOST_ARCH=arm64 DEB_OUT="$out" sh packaging/build-deb.sh

version=$(sed -n 's/^project(ferry VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
deb=$out/ferry_${version}_arm64.deb
exec sh packaging/cross/smoke-qemu.sh "$deb" "$sysroot"
