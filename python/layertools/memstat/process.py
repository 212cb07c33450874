"""What the operating system says about this process's memory, and timing of a file read.

Linux: ``/proc/self/status`` (VmRSS, VmHWM = peak resident, VmSize = what KLayout's log calls
"(mem)", VmPeak) and glibc's ``mallinfo2`` (bytes the allocator holds in use and free).  The heap
figures show fragmentation directly: freed memory the allocator keeps instead of returning to the
system.  Elsewhere the figures fall back to ``resource.getrusage`` or are None.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, TypeVar

T = TypeVar("T")


@dataclass
class ProcessMemory:
    rss_bytes: int | None
    peak_rss_bytes: int | None
    vsize_bytes: int | None
    peak_vsize_bytes: int | None
    heap_in_use_bytes: int | None = None   # glibc: bytes handed out by malloc (uordblks + mmapped)
    heap_free_bytes: int | None = None     # glibc: bytes malloc holds but nobody uses (fordblks)

    @property
    def heap_free_fraction(self) -> float | None:
        """Free share of the heap the allocator holds: high after large temporary work (fragmentation)."""
        if self.heap_in_use_bytes is None or self.heap_free_bytes is None:
            return None
        held = self.heap_in_use_bytes + self.heap_free_bytes
        return self.heap_free_bytes / held if held else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "heap_free_fraction": self.heap_free_fraction}


def _proc_status() -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                    values[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return values


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _heap() -> tuple[int | None, int | None]:
    if not sys.platform.startswith("linux"):
        return None, None
    try:
        libc = ctypes.CDLL(None)
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None, None  # not glibc >= 2.33
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd), int(info.fordblks)


def process_memory() -> ProcessMemory:
    status = _proc_status()
    rss = status.get("VmRSS")
    peak = status.get("VmHWM")
    if peak is None:
        try:
            import resource
            usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            peak = usage if sys.platform == "darwin" else usage * 1024  # macOS: bytes, others: kB
        except (ImportError, OSError):
            peak = None
    in_use, free = _heap()
    return ProcessMemory(rss, peak, status.get("VmSize"), status.get("VmPeak"), in_use, free)


@dataclass
class LoadTiming:
    """How long a read took and what it did to the process (KLayout's "Reading file" timer line)."""

    wall_s: float
    user_s: float
    sys_s: float
    rss_before_bytes: int | None
    rss_after_bytes: int | None
    peak_rss_after_bytes: int | None
    file_bytes: int | None = None

    @property
    def rss_growth_bytes(self) -> int | None:
        if self.rss_before_bytes is None or self.rss_after_bytes is None:
            return None
        return self.rss_after_bytes - self.rss_before_bytes

    def as_dict(self) -> dict:
        return {**asdict(self), "rss_growth_bytes": self.rss_growth_bytes}


def timed(function: Callable[[], T], file_bytes: int | None = None) -> tuple[T, LoadTiming]:
    """Run ``function`` and measure wall, user and system time and resident memory around it."""
    before = process_memory()
    times_before = os.times()
    wall_before = time.perf_counter()
    value = function()
    wall = time.perf_counter() - wall_before
    times_after = os.times()
    after = process_memory()
    return value, LoadTiming(
        wall_s=wall,
        user_s=times_after.user - times_before.user,
        sys_s=times_after.system - times_before.system,
        rss_before_bytes=before.rss_bytes,
        rss_after_bytes=after.rss_bytes,
        peak_rss_after_bytes=after.peak_rss_bytes,
        file_bytes=file_bytes,
    )


__all__ = ["ProcessMemory", "process_memory", "LoadTiming", "timed"]
