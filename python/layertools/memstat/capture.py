"""Capture what KLayout prints on the C-level standard output.

``Layout.dump_mem_statistics`` writes through ``tl::info`` with ``fprintf(stdout)``: Python's
``sys.stdout`` never sees it, and no API returns the text.  We point file descriptor 1 at a
temporary file for the duration of the call and put it back afterwards.

Caveats (measured, see klayout-platform.md §4):
- the redirection is process-wide: anything another thread writes meanwhile lands in the capture,
  so call this from the thread that runs KLayout (the main thread in the application);
- when the process was started on a terminal, the text carries ANSI colour codes; they are removed.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
import threading
from typing import Any, Callable

from ..errors import CaptureError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOCK = threading.RLock()
_LIBC: ctypes.CDLL | bool | None = None  # None: not looked up yet; False: there is no C library handle



def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(None)
            _LIBC.fflush  # noqa: B018 - raises AttributeError where there is no C library handle
        except (OSError, AttributeError, TypeError):
            _LIBC = False
    return _LIBC if isinstance(_LIBC, ctypes.CDLL) else None


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    libc = _libc()
    if libc is not None:
        libc.fflush(None)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def capture_c_stdout(function: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run ``function(*args, **kwargs)`` and return what it printed on file descriptor 1.

    The function's own exceptions propagate after the descriptor has been restored.  Nested and
    repeated calls are safe; afterwards standard output works as before.
    """
    if _libc() is None:
        raise CaptureError("cannot capture KLayout's output: no C library handle on this platform")
    with _LOCK:
        _flush_all()
        with tempfile.TemporaryFile() as sink:
            # With fd 1 closed (a GUI started without a terminal) the file itself may have become
            # fd 1; then there is nothing to redirect, and closing the file restores the state.
            occupied = sink.fileno() == 1
            saved = None
            if not occupied:
                try:
                    saved = os.dup(1)
                except OSError:
                    saved = None  # fd 1 closed: restore by closing it again
                os.dup2(sink.fileno(), 1)
            try:
                function(*args, **kwargs)
            finally:
                _flush_all()
                if saved is not None:
                    os.dup2(saved, 1)
                    os.close(saved)
                elif not occupied:
                    os.close(1)
            sink.seek(0)
            data = sink.read()
    return strip_ansi(data.decode("utf-8", "replace"))


__all__ = ["capture_c_stdout", "CaptureError", "strip_ansi"]
