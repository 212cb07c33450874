"""Verified, atomic file replacement: every file layertools writes (layouts, recipes, reports) goes
through ``replace_atomically``.

The new content is written into a private directory beside the target, flushed to the disk
(``fsync``), checked (size, and a caller's check such as reading the gzip stream back: KLayout's
gzip writer reports no error on a full disk), and only then renamed over the target.  A failure
at any point leaves the old file byte-identical and removes what was written.  The private
directory carries the writer's process id and host, so the next run in that folder on that host
removes what a killed run (SIGKILL, power loss) left behind, and never touches the work of a run
that is still alive.
"""

from __future__ import annotations

import errno
import gzip
import os
import re
import shutil
import socket
import tempfile
import zlib
from typing import Callable

TEMP_PREFIX = ".layertools-"
# .layertools-PID@HOST-random: the host keeps a run on another machine sharing the folder (NFS),
# whose process id means nothing here, from having its work removed
_TEMP_NAME = re.compile(r"\.layertools-(\d+)@([A-Za-z0-9]*)-[A-Za-z0-9_]+\Z")


def temp_prefix(pid: int | None = None) -> str:
    """The start of the name of a temporary folder of process ``pid`` (default: this one) on this host."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32]
    return f"{TEMP_PREFIX}{os.getpid() if pid is None else pid}@{host}-"


class WriteCheckError(OSError):
    """The written file is not what was meant to be written (truncated, unreadable)."""


def replace_atomically(path: str, write: Callable[[str], None], suffix: str = "",
                       verify: Callable[[str], None] | None = None) -> None:
    """Call ``write(temporary path)``, check the result, then rename it over ``path``.

    Readers see the old file or the whole new one.  ``verify(temporary path)`` raises when the
    written content is wrong.  Errors (OSError and whatever ``write`` raises) propagate, and leave
    neither a partial file nor the temporary directory behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_temporaries(folder)
    private = tempfile.mkdtemp(prefix=temp_prefix(), dir=folder)
    try:
        temp = os.path.join(private, "new" + suffix)
        write(temp)
        _flush_to_disk(temp)
        if os.path.getsize(temp) == 0:
            raise WriteCheckError(errno.EIO, "the written file is empty")
        if verify is not None:
            verify(temp)
        os.replace(temp, path)
        _flush_directory(folder)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def write_text_atomically(path: str, text: str) -> None:
    """Write a text file (UTF-8, "\\n" line ends) through ``replace_atomically``, read back to compare."""
    data = text.encode("utf-8")

    def write(temp: str) -> None:
        with open(temp, "wb") as stream:
            stream.write(data)

    def verify(temp: str) -> None:
        with open(temp, "rb") as stream:
            if stream.read() != data:
                raise WriteCheckError(errno.EIO, "the file read back differs from what was written")

    replace_atomically(path, write, ".tmp", verify)


def verify_gzip_stream(path: str) -> bytes:
    """Read a gzip file to its end (CRC and length checked); returns the last 256 bytes of its content."""
    tail = b""
    try:
        with gzip.open(path, "rb") as stream:
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                tail = (tail + block)[-256:]
    except (OSError, EOFError, zlib.error) as exc:
        raise WriteCheckError(errno.EIO, f"the written gzip stream is broken ({exc or type(exc).__name__})") from None
    return tail


def remove_stale_temporaries(folder: str) -> None:
    """Remove ``.layertools-PID@HOST-*`` folders of this host in ``folder`` whose process is gone."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    host = temp_prefix(0).split("@", 1)[1][:-1]
    for name in names:
        match = _TEMP_NAME.match(name)
        if match and match.group(2) == host and not _process_alive(int(match.group(1))):
            full = os.path.join(folder, name)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # Windows: os.kill(pid, 0) would send CTRL_C_EVENT
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process (or unknowable): leave its files alone
    return True


def _flush_to_disk(path: str) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def _flush_directory(folder: str) -> None:
    """Make the rename itself durable; some file systems cannot fsync a directory (ignored)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
