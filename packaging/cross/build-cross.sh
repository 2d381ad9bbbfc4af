#!/bin/sh
# build-cross.sh ARCH (arm64 | armhf): `make deb ARCH=arm64` / `make deb ARCH=armhf` (through
# build-<arch>.sh) cross-builds ferry_<version>_<arch>.deb and smoke-tests it under qemu-user.
#
#  1. A sysroot of Debian 12 packages for ARCH (the -dev packages of deps.sh's BUILD set and their
#     dependencies), extracted by mmdebstrap --variant=extract into build-<arch>/sysroot. Nothing
#     of ARCH runs during this step, so no binfmt_misc is needed. Kept between runs.
#  2. dpkg-buildpackage --host-arch ARCH with Debian's cross compiler for the target triplet
#     (aarch64-linux-gnu, arm-linux-gnueabihf), the host's Qt tools (moc, rcc) and
#     packaging/cross/toolchain.cmake. dpkg-shlibdeps computes Depends from the sysroot packages'
#     own symbols/shlibs files (collected into sysroot/DEBIAN).
#  3. The packaged ferryd runs under qemu-user (qemu-aarch64-static, qemu-arm-static) with the
#     sysroot as its library root: --version, --check-config of the packaged ferry.toml, then a
#     broker on a free loopback port that mosquitto_pub/mosquitto_sub (host programs) publish to
#     and subscribe from.
# Slow (the sysroot is about 700 MB, the build runs in a full cross toolchain): not in `make test`.
set -eu

arch=${1:-}
case "$arch" in
  arm64) triplet=aarch64-linux-gnu; processor=aarch64 ;;
  # Debian's armhf: ARMv7-A, VFPv3-D16, Thumb-2 (Raspberry Pi 2 and later in a 32-bit OS).
  armhf) triplet=arm-linux-gnueabihf; processor=arm ;;
  *) echo "build-cross: usage: build-cross.sh arm64|armhf" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=${FERRY_CROSS_DIR:-$root/build-$arch}
sysroot=$work/sysroot
out=${DEB_OUT:-$root/build-deb}
suite=bookworm
mirror=${FERRY_MIRROR:-http://deb.debian.org/debian}
security=${FERRY_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

tools="mmdebstrap qemu-user-static g++-$triplet binutils-$triplet file"
missing=""
for pkg in $tools; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "build-cross: missing host packages:$missing (sh packaging/deps.sh cross, or apt-get install$missing)" >&2
  exit 1
fi

# Everything the BUILD set of packaging/deps.sh has as a library, for $arch.
dev="libc6-dev libstdc++-12-dev qt6-base-dev qt6-websockets-dev qt6-httpserver-dev
  libsqlite3-dev liblua5.4-dev libtomlplusplus-dev libsimdjson-dev libsystemd-dev"
stamp=$sysroot/.ferry-sysroot
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(echo $dev)" ]; then
  rm -rf "$sysroot"
  mkdir -p "$work"
  echo "build-cross: making the $arch sysroot in $sysroot"
  extract() {
    rm -rf "$sysroot"
    mmdebstrap --variant=extract --architectures="$arch" --skip=cleanup/apt/cache \
      --include="$(echo $dev | tr ' ' ',')" "$suite" "$sysroot" \
      "deb $mirror $suite main" "deb $mirror $suite-updates main" "$@"
  }
  # The security archive's index can fail to download for one architecture while a mirror
  # syncs (seen here for armhf: "File has unexpected size", every retry). The build only needs
  # headers and libraries of the same ABI, so it then goes on with the main archive and says so;
  # FERRY_SECURITY_MIRROR=none skips it from the start.
  if [ "$security" = none ]; then
    extract
  elif ! extract "deb $security $suite-security main"; then
    echo "build-cross: WARNING: $suite-security for $arch could not be read; making the" \
         "sysroot from $suite and $suite-updates only" >&2
    extract
  fi
  # Absolute symlinks (libfoo.so -> /lib/<triplet>/libfoo.so.1) would point into the
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

export FERRY_SYSROOT="$sysroot" FERRY_CROSS_TRIPLET="$triplet" FERRY_CROSS_PROCESSOR="$processor"
export FERRY_TOOLCHAIN="$root/packaging/cross/toolchain.cmake"
DEB_HOST_ARCH=$arch DEB_OUT="$out" sh packaging/build-deb.sh

version=$(sed -n 's/^project(ferry VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
deb=$out/ferry_${version}_${arch}.deb
exec sh packaging/cross/smoke-qemu.sh "$deb" "$sysroot"
