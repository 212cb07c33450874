"""GUI tests: they run the real KLayout application through ``harness.run_klayout``.

Every test in this folder is marked ``gui`` (deselect with ``-m "not gui"``).  They skip when KLayout or
Xvfb is missing and FAIL instead when the environment variable ``CI`` is set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from harness import run_klayout` in any mode

from harness import TESTS_CONFTEST, require_gui, run_klayout  # noqa: E402

# Both this file and tests/conftest.py are the module "conftest" for Python, and whichever pytest
# loaded last answers `from conftest import ...` in every test module (that depends on how the
# folders sort).  So this one offers every public name of tests/conftest.py too - except its
# hooks, which must not run twice.
globals().update({name: value for name, value in vars(TESTS_CONFTEST).items()
                  if not name.startswith(("_", "pytest_")) and name not in globals()})

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def klayout_gui():
    """``run_klayout`` after checking that the application can run here (skip, or fail in CI)."""
    require_gui()
    return run_klayout
