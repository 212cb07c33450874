# Shared by setup.sh, test.sh and demo.sh (sourced, not run).
# LAYERTOOLS_PYTHON: the interpreter that has layertools and its test tools (set by pick_python).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The PyPI klayout versions CI tests: the newest, pinned so a new KLayout release cannot change CI
# unnoticed (raise it deliberately; LAYERTOOLS_NEW_KLAYOUT= (empty) takes whatever pip picks), and
# the oldest supported (the oldest 0.28 wheel for CPython 3.11).
NEW_KLAYOUT="${LAYERTOOLS_NEW_KLAYOUT-0.30.12}"
OLD_KLAYOUT="${LAYERTOOLS_OLD_KLAYOUT:-0.28.17.post1}"

say() { printf '%s\n' "layertools: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $* (run as root or install sudo)"; fi
}

# Debian 12 marks its Python "externally managed" (PEP 668): pip may not install into it.  Then a
# virtual environment in $REPO/.venv holds layertools and the test tools; otherwise python3 itself.
pick_python() {
    if [ -n "${LAYERTOOLS_PYTHON:-}" ]; then return; fi
    if [ -x "$REPO/.venv/bin/python" ]; then
        LAYERTOOLS_PYTHON="$REPO/.venv/bin/python"
    else
        LAYERTOOLS_PYTHON="$(command -v python3 || true)"
        [ -n "$LAYERTOOLS_PYTHON" ] || die "python3 is not installed"
    fi
    export LAYERTOOLS_PYTHON
}

python_is_managed() {
    "$1" - <<'PY' 2>/dev/null
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
sys.exit(0 if managed and not in_venv else 1)
PY
}
