"""SIGINT and SIGTERM during evaluation and during writing, with stderr on a terminal (a pty) and
without one (a pipe, as in CI or a farm log): the command stops with a message and exit 1, the old
OUTPUT is byte-identical, and no temporary files are left."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from layertools.compat import db
from layertools.safe_write import TEMP_PREFIX

OLD = b"old OUTPUT\n"


def array_layout(folder: Path, n: int) -> Path:
    """n x n placements of one box: a tiny file whose evaluation and output are large."""
    layout = db.Layout()
    top, box = layout.create_cell("TOP"), layout.create_cell("C")
    box.shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 1000, 1000))
    top.insert(db.CellInstArray(box.cell_index(), db.Trans(), db.Vector(2000, 0), db.Vector(0, 2000), n, n))
    path = folder / f"array{n}.gds"
    layout.write(str(path))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("signals")
    # 600 x 600: about 10 s of tiles; 300 x 300: a quick flat run, then about 0.5 s of gzip writing
    return {"evaluating": array_layout(folder, 600), "writing": array_layout(folder, 300)}


def start(args: list[str], terminal: bool):
    """The command with stderr (and stdout) on a pty or on a pipe; returns (process, read_output)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    command = [sys.executable, "-m", "layertools", *args]
    if not terminal:
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        return proc, lambda: b"".join(proc.communicate(timeout=120)).decode(errors="replace")
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []

    def read() -> str:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=120)
        os.close(master)
        return b"".join(chunks).decode(errors="replace")
    return proc, read


def cpu_seconds(pid: int, state: list | None = None) -> float:
    with open(f"/proc/{pid}/stat") as stream:
        fields = stream.read().rsplit(")", 1)[1].split()
    if state is not None:
        state[:] = [fields[0]]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_at_exit(proc) -> float:
    """The CPU time the command used in all, read while it is a zombie (before it is reaped): CPU
    time, unlike wall time, does not depend on how busy the machine is."""
    state: list = []
    while True:
        seconds = cpu_seconds(proc.pid, state)
        if state[0] == "Z":
            return seconds
        time.sleep(0.002)


def wait_for(condition, proc, what: str) -> None:
    end = time.monotonic() + 120
    while not condition():
        assert proc.poll() is None, f"the command ended before {what}"
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.002)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses a pty")
@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["evaluating", "writing"])
def test_a_signal_stops_the_command_and_changes_nothing(tmp_path, inputs, phase, signum, terminal):
    out = tmp_path / ("out.gds" if phase == "evaluating" else "out.gds.gz")
    out.write_bytes(OLD)
    if phase == "evaluating":  # about 10 s of tiles: the signal arrives well inside them
        args = ["eval", str(inputs[phase]), "bloat(0.1, 1/0, 0) ^ 1/0", "--to", "2/0", "-o", str(out),
                "--strategy", "tiled", "--partition", "10"]
    else:
        args = ["eval", str(inputs[phase]), "1/0 | 1/0", "--to", "2/0", "-o", str(out), "--strategy", "flat"]
    proc, read_output = start(args, terminal)
    try:
        if phase == "evaluating":
            # imports and the tiny read take well under a second of CPU; then the tiles run
            wait_for(lambda: cpu_seconds(proc.pid) > 1.5, proc, "the evaluation")
        else:
            # the private folder of the write, with the new file growing in it
            wait_for(lambda: any(n.startswith(TEMP_PREFIX) and (tmp_path / n / "new.gds.gz").exists()
                                 for n in os.listdir(tmp_path)), proc, "the write")
        signalled_at = cpu_seconds(proc.pid)
        proc.send_signal(signum)
        used = cpu_at_exit(proc) - signalled_at
        output = read_output()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    assert proc.returncode == 1, output
    assert f"layertools: {word}; nothing was written" in output, output
    assert "shapes written" not in output and "Traceback" not in output, output
    assert out.read_bytes() == OLD
    if phase == "evaluating":  # stopped at the next band of tiles (the whole run takes about 10 s of CPU)
        assert used < 4, f"{used:.1f} s of CPU after the signal"
    assert [n for n in os.listdir(tmp_path) if n.startswith(TEMP_PREFIX)] == []
