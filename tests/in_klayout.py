"""Run pytest inside the KLayout application's own Python (Debian's 0.28.5: ``pya``, no klayout.db).

    klayout -b -r tests/in_klayout.py -rd args="tests/engine/test_engine_xic.py -q"

The core must work there exactly as with the PyPI module; this runs the same tests to prove it.
"""

import shlex
import sys

import pytest

arguments = shlex.split(globals().get("args", "") or "tests -q")
sys.exit(int(pytest.main(["-p", "no:cacheprovider", *arguments])))
