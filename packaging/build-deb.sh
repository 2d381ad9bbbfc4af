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

stage=$out/ferry-$version
rm -rf "$stage"
mkdir -p "$stage"
case "$from" in
  worktree) git ls-files -z --cached --others --exclude-standard |
              xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
              tar -c --null -T - -f - | tar -x -C "$stage" ;;
  head) git archive --format=tar HEAD | tar -x -C "$stage"
        rm -rf "$stage/packaging"
        tar -c --exclude=__pycache__ packaging | tar -x -C "$stage" ;;
  *) echo "build-deb: DEB_FROM must be worktree or head" >&2; exit 2 ;;
esac

cp -r packaging/debian "$stage/debian"
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
# -b: binary packages only (the source is the git repository). No signing.
DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" dpkg-buildpackage -us -uc -b ${DEB_HOST_ARCH:+--host-arch "$DEB_HOST_ARCH"}
arch=${DEB_HOST_ARCH:-$(dpkg-architecture -qDEB_HOST_ARCH)}
deb=$out/ferry_${version}_${arch}.deb
[ -f "$deb" ] || { echo "build-deb: $deb was not produced" >&2; exit 1; }
echo "build-deb: $deb"
