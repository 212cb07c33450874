#!/usr/bin/env bash
# Make a release:  bash scripts/release.sh X.Y.Z
#   1. refuses a dirty work tree or a version that is not newer (KLayout skips same-version installs);
#   2. runs the whole test suite (scripts/test.sh);
#   3. bumps the version (python/layertools/_version.py -> grain.xml), commits both, tags vX.Y.Z;
#   4. stages the package from the COMMITTED tree (git archive: nothing uncommitted slips in) into
#      dist/layertools-X.Y.Z/layertools and packs dist/layertools-X.Y.Z.tar.gz;
#   5. installs that folder with 'klayout -y' into a throw-away home as a last check.
# Publishing the folder (see doc/packaging.md) and pushing the tag are left to you.
# LAYERTOOLS_RELEASE_SKIP_TESTS=1 skips step 2 (only for rehearsing this script).
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"

VERSION="${1:-}"
[ -n "$VERSION" ] || die "usage: bash scripts/release.sh X.Y.Z"
pick_python
[ -z "$(git status --porcelain --untracked-files=no)" ] || die "commit or stash your changes first"

if [ "${LAYERTOOLS_RELEASE_SKIP_TESTS:-}" != 1 ]; then
    bash scripts/test.sh || die "tests failed; nothing released"
fi

"$LAYERTOOLS_PYTHON" scripts/package.py bump "$VERSION"
"$LAYERTOOLS_PYTHON" scripts/package.py check
git commit -q -m "Release $VERSION" -- python/layertools/_version.py grain.xml
git tag -a "v$VERSION" -m "layertools $VERSION"

DIST="$REPO/dist/layertools-$VERSION"
rm -rf "$DIST"
mkdir -p "$DIST/src"
git archive "v$VERSION" | tar -x -C "$DIST/src"
"$LAYERTOOLS_PYTHON" "$DIST/src/scripts/package.py" stage "$DIST" >/dev/null
rm -rf "$DIST/src"
tar -C "$DIST" -czf "$REPO/dist/layertools-$VERSION.tar.gz" layertools

CHECK_HOME="$(mktemp -d "${TMPDIR:-/tmp}/layertools-release-check.XXXXXX")"
KLAYOUT_HOME="$CHECK_HOME" KLAYOUT_SALT_MINE= timeout -s KILL 120 klayout -zz -y "$DIST/layertools" >/dev/null
installed="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$CHECK_HOME/salt/layertools/grain.xml")"
[ "$installed" = "$VERSION" ] || die "the staged package installed as version '$installed'"
rm -rf "$CHECK_HOME"

say "released $VERSION: $DIST/layertools ($(wc -l < "$DIST/layertools/MANIFEST.txt") files), dist/layertools-$VERSION.tar.gz"
say "next: git push origin main v$VERSION, and publish the folder (doc/packaging.md)"
