#!/bin/sh
# Builds ferry_<version>_<arch>.deb with debhelper into build-deb/ (or $DEB_OUT).
#
#   sh packaging/build-deb.sh            amd64 (the build machine's architecture)
#   DEB_FROM=head sh packaging/build-deb.sh
#
# The source is staged into build-deb/ferry-<version>/, so the checkout never gets a debian/
# directory: by default the working tree's tracked and untracked-but-not-ignored files
# (what `make` would build), or with DEB_FROM=head the committed tree (other people's
# uncommitted work stays out); packaging/ itself always comes from the working tree so that
# packaging changes can be tried before they are committed.
#
# The version has one home, project(ferry VERSION x.y.z) in CMakeLists.txt: debian/changelog is
# written here from it, so the package, `ferryd --version` and $SYS/broker/version agree.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${DEB_OUT:-$root/build-deb}
from=${DEB_FROM:-worktree}

version=$(sed -n 's/^project(ferry VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-deb: no project(ferry VERSION ...) in CMakeLists.txt" >&2; exit 1; }

arch=${DEB_HOST_ARCH:-$(dpkg-architecture -qDEB_HOST_ARCH)}
# One staging tree per architecture, so that amd64 and arm64 builds can run side by side;
# dpkg-buildpackage writes its results beside the tree, and they are moved to $out.
# DEB_INCREMENTAL=1 keeps the staging tree and its CMake build directory from the last run
# (dpkg-buildpackage -nc), so only changed sources recompile: for trying packaging changes.
# Files deleted from the source since then linger in the stage; release builds start clean.
stage=$out/stage-$arch/ferry-$version
if [ "${DEB_INCREMENTAL:-0}" = 1 ] && [ -d "$stage/debian/build" ]; then
  noclean=-nc
  # dh skips every step its stamps and logs say is done: forget them, keep debian/build.
  (cd "$stage/debian" && rm -rf ferry ferry-dbgsym .debhelper debhelper-build-stamp \
     ./*.debhelper.log ./*.substvars files)
else
  noclean=
  rm -rf "$out/stage-$arch"
fi
mkdir -p "$stage"
fresh=$out/stage-$arch/fresh
rm -rf "$fresh"
mkdir -p "$fresh"
case "$from" in
  worktree) git ls-files -z --cached --others --exclude-standard |
              xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
              tar -c --null -T - -f - | tar -x -C "$fresh" ;;
  head) git archive --format=tar HEAD | tar -x -C "$fresh"
        rm -rf "$fresh/packaging"
        tar -c --exclude=__pycache__ packaging | tar -x -C "$fresh" ;;
  *) echo "build-deb: DEB_FROM must be worktree or head" >&2; exit 2 ;;
esac
mkdir -p "$fresh/debian"
tar -C packaging/debian -c . | tar -x -C "$fresh/debian"
# Copy into the stage only what differs, so that an incremental build recompiles only that.
(cd "$fresh" && find . -type f) | while read -r f; do
  if ! cmp -s "$fresh/$f" "$stage/$f"; then
    mkdir -p "$stage/${f%/*}"
    cp "$fresh/$f" "$stage/$f"  # now-stamped: newer than any object built from the old one
  fi
done
rm -rf "$fresh"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The commit time, not the wall clock: the same commit gives the same changelog.
when=$(git log -1 --format=%cD 2>/dev/null || date -R)
cat > "$stage/debian/changelog" <<CHANGELOG
ferry ($version) unstable; urgency=medium

  * Release $version, built from git commit $commit. The version comes from
    project(ferry VERSION ...) in CMakeLists.txt (packaging/build-deb.sh).

 -- Ferry maintainers <maintainers@users.noreply.r-seed-49118bae.example>  $when
CHANGELOG

cd "$stage"
# -b: binary packages only (the source is the git repository). No signing. A cross build
# (DEB_HOST_ARCH set, by packaging/cross/build-*.sh) has its build dependencies in a sysroot,
# not installed for the host architecture: -d skips dpkg's check for them.
# nocheck: the tests run from `make test`, and cannot run on the build machine when cross-building.
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2 nocheck}" \
  dpkg-buildpackage -us -uc -b $noclean ${DEB_HOST_ARCH:+--host-arch "$DEB_HOST_ARCH" -d}
for f in "$out/stage-$arch"/ferry*_"$version"_"$arch".*; do
  mv -f "$f" "$out/"
done
deb=$out/ferry_${version}_${arch}.deb
[ -f "$deb" ] || { echo "build-deb: $deb was not produced" >&2; exit 1; }
echo "build-deb: $deb"
