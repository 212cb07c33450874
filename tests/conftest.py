"""Shared test set-up: where the real layouts are, and fixtures built in code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

#: ../shared/data next to the checkout (CI clones main with shared/ beside it).
SHARED_DATA = Path(os.environ.get("LAYERTOOLS_DATA", REPO.parent / "shared" / "data"))
ARTIFACTS = REPO / "tests" / "_artifacts"


def data_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"real layout {path} is missing (shared/data must sit beside the checkout)")
        pytest.skip(f"real layout {path} is not available")
    return path


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
