"""Progress on a terminal: one updating stderr line, shown only when stderr is a TTY."""

from __future__ import annotations

import time
from typing import TextIO


class TerminalProgress:
    """A ``progress(message, fraction)`` callable for the engine, plus stage messages."""

    def __init__(self, stream: TextIO, min_interval: float = 0.2):
        self.stream = stream
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.perf_counter()
        self.min_interval = min_interval
        self._last = 0.0
        self._shown = False

    def __call__(self, message: str, fraction: float | None) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self._last < self.min_interval and fraction not in (0.0, 1.0)):
            return
        self._last = now
        percent = f" {fraction * 100:5.1f}%" if fraction is not None else ""
        self.stream.write(f"\r\x1b[K[{now - self.started:7.1f} s]{percent} {message}")
        self.stream.flush()
        self._shown = True

    def stage(self, message: str) -> None:
        self(message, None)

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
