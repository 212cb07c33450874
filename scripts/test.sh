#!/usr/bin/env bash
# Set up (scripts/setup.sh), then check and run every test:
#   0. static checks: ruff (lint, import order, Python 3.9 syntax), vermin (no standard-library
#      feature newer than Python 3.9), mypy on python/layertools (configured in pyproject.toml);
#   1. the whole suite with the newest tested PyPI klayout (pinned in scripts/_common.sh, default
#      0.30.12; LAYERTOOLS_NEW_KLAYOUT=...) plus the GUI tests in Debian's KLayout application under
#      Xvfb (tests/gui, marker "gui");
#   2. the core suite again in a virtual environment with the OLDEST supported PyPI klayout
#      (default 0.28.17.post1, the oldest 0.28 wheel for CPython 3.11; LAYERTOOLS_OLD_KLAYOUT=...).
# Extra arguments go to both pytest runs (e.g. -k install, -x).  Exits non-zero on any failure.
# CI=true makes GUI tests fail instead of skipping when KLayout or Xvfb is missing.
# LAYERTOOLS_SKIP_COMPAT=1 skips step 2.
set -uo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"

bash scripts/setup.sh || die "set-up failed"
pick_python

COMPAT_VENV="$REPO/.venv-klayout-$OLD_KLAYOUT"
failures=()
had_args=$#

# pytest exit 5 = no tests collected: fine when the caller's -k/-m selected none in this step,
# a failure otherwise (a suite that silently runs nothing must not pass).
run_pytest() {
    local label="$1"; shift
    say "== $label"
    local start=$SECONDS
    "$@"
    local rc=$?
    if [ $rc -eq 5 ] && [ "$had_args" -gt 0 ]; then
        say "$label: no tests selected by '${*: -$had_args}'"
        rc=0
    fi
    say "$label: exit $rc in $((SECONDS - start)) s"
    [ $rc -eq 0 ] || failures+=("$label (exit $rc)")
}

# A failed check is reported with the test results, not instead of them.
check() {
    local label="$1"; shift
    say "== $label"
    "$@" || failures+=("$label")
}
check "ruff (lint, import order, Python 3.9 syntax)" "$LAYERTOOLS_PYTHON" -m ruff check --quiet .
# Not vermin's "X | Y" check: it does not know that `from __future__ import annotations` leaves
# annotations unevaluated (ruff's FA rules cover those).
check "vermin (standard library of Python 3.9)" "$LAYERTOOLS_PYTHON" -c "import sys, vermin; sys.exit(vermin.main())" --quiet --violations \
    --no-tips -t=3.9- python/layertools
check "mypy python/layertools" "$LAYERTOOLS_PYTHON" -m mypy

run_pytest "all tests, PyPI klayout $("$LAYERTOOLS_PYTHON" -c 'import klayout.db as d; print(d.__version__)'), GUI tests in $(klayout -v)" \
    "$LAYERTOOLS_PYTHON" -m pytest -q -p no:cacheprovider "$@"

# The core tests once more inside the KLayout application's own Python (Debian's 0.28.5: pya,
# no klayout.db), where the panel and batch replay run it.  Tests that start subprocesses with
# sys.executable or need the PyPI module's extras are left to the steps around this one.
run_pytest "core tests inside the KLayout application ($(klayout -v))" \
    klayout -b -r tests/in_klayout.py -rd args="tests/language/test_language.py tests/engine/test_engine_xic.py tests/engine/test_xic_parity.py tests/engine/test_atomic.py tests/engine/test_engine_real.py tests/engine/test_placements.py tests/test_limits.py -q $*"

if [ "${LAYERTOOLS_SKIP_COMPAT:-}" = 1 ]; then
    say "compatibility step skipped (LAYERTOOLS_SKIP_COMPAT=1)"
else
    # A clean venv (no system site-packages) so nothing newer leaks in; reused when it is complete.
    # (klayout.db.__version__ says "0.28.17-1" for 0.28.17.post1: ask the package metadata instead)
    if ! "$COMPAT_VENV/bin/python" -c "import importlib.metadata as m, klayout.db, yaml, pytest, hypothesis; assert m.version('klayout') == '$OLD_KLAYOUT'" 2>/dev/null; then
        say "creating $COMPAT_VENV with klayout==$OLD_KLAYOUT"
        rm -rf "$COMPAT_VENV"
        "$LAYERTOOLS_PYTHON" -m venv "$COMPAT_VENV" \
            && "$COMPAT_VENV/bin/python" -m pip install -q --disable-pip-version-check \
                "klayout==$OLD_KLAYOUT" "pyyaml>=5.1" "pytest>=7" "hypothesis>=6" \
            || failures+=("creating the klayout $OLD_KLAYOUT environment")
    fi
    if [ -x "$COMPAT_VENV/bin/python" ]; then
        # The package is not installed there: tests/conftest.py puts python/ first on sys.path, and
        # PYTHONPATH does the same for command-line tests that start "python -m layertools".
        PYTHONPATH="$REPO/python${PYTHONPATH:+:$PYTHONPATH}" run_pytest \
            "core tests, PyPI klayout $OLD_KLAYOUT (oldest supported)" \
            "$COMPAT_VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not gui" \
            --ignore=tests/gui "$@"
    fi
fi

if [ ${#failures[@]} -gt 0 ]; then
    for failure in "${failures[@]}"; do say "FAILED: $failure"; done
    exit 1
fi
say "no failures"
