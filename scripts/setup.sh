#!/usr/bin/env bash
# Install everything layertools needs on a fresh Debian/Ubuntu machine: KLayout (the application, for
# the panels and GUI tests), Xvfb, ImageMagick, and the Python side (`pip install -e '.[test,cluster,check]'`:
# the PyPI klayout module (pinned, see _common.sh), PyYAML, pytest, hypothesis, Dask for the cluster
# tests, and the pinned checkers ruff, mypy and vermin).  Run as root or with sudo.
#
# Idempotent and quiet: apt runs only for missing packages, pip only when something is missing.
# Python: python3 itself, or a virtual environment in .venv when python3 is "externally managed"
# (Debian 12's system Python); test.sh and demo.sh pick the same one.
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"

APT_PACKAGES=(klayout xvfb xauth xdotool python3-yaml python3-pytest python3-hypothesis imagemagick python3 python3-pip python3-venv ca-certificates)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
    say "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v klayout >/dev/null 2>&1 || die "klayout is not on PATH after installing it"

pick_python
if [ "$LAYERTOOLS_PYTHON" != "$REPO/.venv/bin/python" ] && python_is_managed "$LAYERTOOLS_PYTHON"; then
    say "$LAYERTOOLS_PYTHON is externally managed; using a virtual environment in .venv"
    python3 -m venv "$REPO/.venv"
    LAYERTOOLS_PYTHON="$REPO/.venv/bin/python"
fi

# Ready when layertools imports from THIS checkout together with every test dependency and checker,
# with the pinned klayout (NEW_KLAYOUT, scripts/_common.sh) and the pinned checkers (pyproject's "check").
ready() {
    (cd / && "$LAYERTOOLS_PYTHON" - "$REPO" "$NEW_KLAYOUT" <<'PY' 2>/dev/null
import os, re, sys
import importlib.metadata as metadata
import klayout.db, yaml, pytest, hypothesis, distributed, dask_jobqueue, layertools
repo, klayout_wanted = sys.argv[1], sys.argv[2]
from_here = os.path.realpath(layertools.__file__).startswith(os.path.realpath(repo) + os.sep)
with open(os.path.join(repo, "pyproject.toml"), encoding="utf-8") as handle:
    checkers = re.search(r"^check = \[(.*)\]$", handle.read(), re.MULTILINE).group(1)
pins = re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', checkers)
pinned = all(metadata.version(name) == version for name, version in pins)
klayout_ok = not klayout_wanted or metadata.version("klayout") == klayout_wanted
sys.exit(0 if from_here and pins and pinned and klayout_ok else 1)
PY
    )
}
if ! ready; then
    say "installing layertools, its test tools and checkers into $LAYERTOOLS_PYTHON (pip install -e '.[test,cluster,check]'${NEW_KLAYOUT:+ klayout==$NEW_KLAYOUT})"
    "$LAYERTOOLS_PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        -e "$REPO[test,cluster,check]" ${NEW_KLAYOUT:+"klayout==$NEW_KLAYOUT"}
    ready || die "layertools is still not importable from $REPO with $LAYERTOOLS_PYTHON (or a pinned version is missing)"
fi
say "ready: $("$LAYERTOOLS_PYTHON" -c 'import layertools, klayout.db as db; print("layertools", layertools.__version__, "with klayout", db.__version__)') and $(klayout -v)"
