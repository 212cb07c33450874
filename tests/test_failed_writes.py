"""A write that fails (a full device, a writer error midway, a signal, a killed run) leaves the old
OUTPUT byte-identical and no temporary files.

The full device is simulated at the OS level with RLIMIT_FSIZE in a child process (no root needed):
every write beyond the limit fails with EFBIG, as ENOSPC would, and the production code path is the
one under test.  KLayout's gzip and OASIS writers report no error then; the checks must catch it.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from layertools.compat import db
from layertools.safe_write import TEMP_PREFIX, replace_atomically, temp_prefix, write_text_atomically

LIMIT = 64 * 1024  # bytes a child may write per file


def _limited_writes():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def run_limited(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120,
                          preexec_fn=_limited_writes)


def leftovers(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)]


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """A layout whose every output format is far above LIMIT (random boxes compress badly)."""
    import random
    rng = random.Random(12)
    layout = db.Layout()
    top = layout.create_cell("TOP")
    shapes = top.shapes(layout.layer(1, 0))
    for _ in range(60000):
        x, y = rng.randrange(10**7), rng.randrange(10**7)
        shapes.insert(db.Box(x, y, x + rng.randrange(1, 999), y + rng.randrange(1, 999)))
    path = tmp_path_factory.mktemp("input") / "in.gds"
    layout.write(str(path))  # written by the test process, without the limit
    return path


@pytest.mark.parametrize("suffix", [".gds", ".oas", ".gds.gz", ".oas.gz"])
def test_eval_on_a_full_device_keeps_the_old_output(tmp_path, big_input, suffix):
    out = tmp_path / f"out{suffix}"
    old = b"the previous OUTPUT, which must survive\n" * 10
    out.write_bytes(old)
    proc = run_limited("-m", "layertools", "eval", str(big_input), "1/0 | 1/0", "--to", "2/0", "-o", str(out),
                       "--strategy", "flat")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"cannot write {out}" in proc.stderr and "the existing file is unchanged" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "shapes written" not in proc.stdout
    assert out.read_bytes() == old
    assert leftovers(tmp_path) == []


def test_the_same_run_without_the_limit_writes(tmp_path, big_input):
    """The control: the failure above comes from the limit, not from the command."""
    out = tmp_path / "out.oas.gz"
    proc = subprocess.run([sys.executable, "-m", "layertools", "eval", str(big_input), "1/0 | 1/0", "--to", "2/0",
                           "-o", str(out), "--strategy", "flat"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO / "python")))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > LIMIT
    layout = db.Layout()
    layout.read(str(out))
    assert layout.top_cell().shapes(layout.find_layer(2, 0)).size() > 50000


CHILD_WRITES = {
    "recipe": """
        from layertools.recipe import Recipe, Step, save_recipe
        from layertools.options import EvalOptions
        steps = [Step(f"A{i} | B{i}", EvalOptions(to=f"{i}/0")) for i in range(3000)]
        save_recipe(Recipe(steps=steps), PATH)
    """,
    "report": """
        from layertools.compat import db
        from layertools.memstat import memory_report
        layout = db.Layout()
        top = layout.create_cell("TOP")
        for i in range(3000):
            layout.create_cell(f"CELL_WITH_A_LONG_NAME_{i:05d}")
        report = memory_report(layout, detailed=True)
        import json
        text = report.to_json()
        assert len(text) > 1000
        report.export(PATH)
    """,
}


@pytest.mark.parametrize("kind,name", [("recipe", "r.yaml"), ("report", "report.json")])
def test_recipes_and_reports_on_a_full_device_keep_the_old_file(tmp_path, kind, name):
    path = tmp_path / name
    old = b"old content\n"
    path.write_bytes(old)
    code = f"PATH = {str(path)!r}\n" + textwrap.dedent(CHILD_WRITES[kind])
    proc = run_limited("-c", code)
    assert proc.returncode != 0
    assert "Error" in proc.stderr and ("File too large" in proc.stderr or "cannot write" in proc.stderr), proc.stderr
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []


def test_a_writer_failing_midway_or_interrupted_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.gds"
    path.write_bytes(b"old")

    def half_then(error):
        def write(temp):
            Path(temp).write_bytes(b"x" * 1000)
            raise error
        return write

    for error in (RuntimeError("writer failed"), KeyboardInterrupt(), OSError(28, "No space left on device")):
        with pytest.raises(type(error)):
            replace_atomically(str(path), half_then(error), ".gds")
        assert path.read_bytes() == b"old"
        assert leftovers(tmp_path) == []


def test_a_check_that_fails_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.gds"
    path.write_bytes(b"old")

    def verify(temp):
        raise OSError(5, "bad")

    with pytest.raises(OSError):
        replace_atomically(str(path), lambda temp: Path(temp).write_bytes(b"new"), ".gds", verify)
    with pytest.raises(OSError, match="empty"):
        replace_atomically(str(path), lambda temp: Path(temp).write_bytes(b""), ".gds")
    assert path.read_bytes() == b"old"
    write_text_atomically(str(path), "new ✓\n")
    assert path.read_bytes() == "new ✓\n".encode()
    assert leftovers(tmp_path) == []


def test_temporaries_of_a_killed_run_are_removed_by_the_next_write_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{temp_prefix(dead.pid)}abc123"
    stale.mkdir()
    (stale / "new.gds").write_bytes(b"x" * 100)
    live = tmp_path / f"{temp_prefix(os.getppid())}def456"  # our parent is alive
    live.mkdir()
    other_host = tmp_path / f"{TEMP_PREFIX}{dead.pid}@someotherhost-ghi789"  # NFS: its pid means nothing here
    other_host.mkdir()
    unrelated = tmp_path / f"{TEMP_PREFIX}notapid"
    unrelated.mkdir()
    write_text_atomically(str(tmp_path / "r.yaml"), "x\n")
    assert sorted(leftovers(tmp_path)) == sorted([live.name, other_host.name, unrelated.name])


def test_sigkill_during_a_write_leaves_a_folder_the_next_run_removes(tmp_path, big_input):
    out = tmp_path / "out.gds.gz"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    child = subprocess.Popen([sys.executable, "-m", "layertools", "eval", str(big_input), "1/0 | 1/0",
                              "--to", "2/0", "-o", str(out), "--strategy", "flat"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: leftovers(tmp_path) or child.poll() is not None)
        assert leftovers(tmp_path), "the write finished before it could be killed"
        child.kill()
    finally:
        child.wait()
    assert not out.exists() and leftovers(tmp_path)
    write_text_atomically(str(tmp_path / "next.yaml"), "x\n")
    assert leftovers(tmp_path) == []


def _wait_for(condition, timeout: float = 60.0) -> None:
    import time
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.002)
