"""Run one command in a fresh process and measure it the way a user would feel it.

Wall time covers the whole process (start-up, reading the layout, the work, writing the output).
Peak memory is the child's own ``ru_maxrss`` from ``wait4``, so nothing the runner itself holds
is counted.  A watchdog kills a case that exceeds its time or memory budget: the machine is shared,
and a runaway flat evaluation must not take everyone else's memory with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence


@dataclass
class Measurement:
    """What one process run cost, and how it ended."""

    argv: List[str]
    returncode: Optional[int] = None
    wall_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    peak_rss_bytes: int = 0
    killed: str = ""                 # "" or why the watchdog killed it
    stdout_tail: str = ""
    stderr_tail: str = ""
    load_before: List[float] = field(default_factory=list)
    load_after: List[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed

    @property
    def cpu_ratio(self) -> float:
        """CPU seconds per wall second: about 1 for one busy thread, about 2 for two."""
        return (self.user_s + self.sys_s) / self.wall_s if self.wall_s > 0 else 0.0

    def failure(self) -> str:
        if self.killed:
            return self.killed
        if self.returncode != 0:
            last = (self.stderr_tail or self.stdout_tail).strip().splitlines()
            return f"exit {self.returncode}: {last[-1] if last else 'no message'}"
        return ""


def measure(argv: Sequence[str], *, env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
            timeout_s: float = 900.0, max_rss_bytes: int = 0, log_prefix: Optional[str] = None,
            tail_chars: int = 4000) -> Measurement:
    """Run ``argv`` to completion and measure it.

    ``max_rss_bytes`` (0 = no limit) kills the process group when the child's resident set grows
    beyond it.  ``log_prefix`` keeps the full stdout/stderr in ``<prefix>.out``/``<prefix>.err``.
    """
    result = Measurement(argv=list(argv), load_before=list(os.getloadavg()))
    out_path = (log_prefix + ".out") if log_prefix else None
    err_path = (log_prefix + ".err") if log_prefix else None
    with _sink(out_path) as out, _sink(err_path) as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        stop = threading.Event()
        watchdog = threading.Thread(target=_watch, args=(proc.pid, started, timeout_s, max_rss_bytes,
                                                        stop, result), daemon=True)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid)
            os.wait4(proc.pid, 0)
            raise
        finally:
            stop.set()
        result.wall_s = time.perf_counter() - started
        watchdog.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen the child is reaped
        result.returncode = proc.returncode
        result.user_s = usage.ru_utime
        result.sys_s = usage.ru_stime
        result.peak_rss_bytes = usage.ru_maxrss * 1024  # Linux reports KiB
        result.load_after = list(os.getloadavg())
        out.flush()
        err.flush()
        result.stdout_tail = _tail(out, tail_chars)
        result.stderr_tail = _tail(err, tail_chars)
    return result


def _watch(pid: int, started: float, timeout_s: float, max_rss_bytes: int, stop: threading.Event,
           result: Measurement) -> None:
    while not stop.wait(0.2):
        if timeout_s and time.perf_counter() - started > timeout_s:
            result.killed = f"killed after the {timeout_s:.0f} s time limit"
            _kill_group(pid)
            return
        if max_rss_bytes:
            rss = current_rss_bytes(pid)
            if rss > max_rss_bytes:
                result.killed = (f"killed at {rss / 1e9:.1f} GB resident "
                                 f"(limit {max_rss_bytes / 1e9:.1f} GB)")
                _kill_group(pid)
                return


def current_rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _kill_group(pid: int) -> None:
    # The child leads its own session (start_new_session), so this reaches only what we started.
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _sink:
    """A file for the child's output: the log file when asked for, else an anonymous temp file."""

    def __init__(self, path: Optional[str]):
        self.path = path

    def __enter__(self):
        import tempfile
        self.file = open(self.path, "w+b") if self.path else tempfile.TemporaryFile()
        return self.file

    def __exit__(self, *exc):
        self.file.close()
        return False


def _tail(handle, chars: int) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - chars))
    return handle.read().decode("utf-8", "replace")
