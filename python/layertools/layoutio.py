"""Reading and writing layout files, and finding the cell to work on, with errors a user can act on."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from typing import Iterable

from .compat import db
from .errors import CellNotFoundError, LayoutFileError
from .safe_write import TEMP_PREFIX, WriteCheckError, replace_atomically, temp_prefix, verify_gzip_stream

LAYOUT_SUFFIXES = (".gds", ".gds2", ".gdsii", ".oas", ".oasis", ".gds.gz", ".gds2.gz", ".oas.gz", ".oasis.gz")



def read_layout(path: str, *, layers: "Iterable[tuple[int, int]] | None" = None,
                editable: bool = False) -> "db.Layout":
    """Read a GDS or OASIS file (optionally gzipped) into a new Layout.

    Viewer mode (``editable=False``, the default) is how ``klayout -b`` reads a file: OASIS repetitions
    and GDS arrays stay compact (a 30 M-box fill OASIS of 419 bytes: 74 MB read in viewer mode,
    774 MB editable) and the engine works on such a layout as on an editable one.  ``layers``: the
    (layer, datatype) pairs to load; the reader skips every other layer, so it never takes memory.
    """
    check_input_path(path)
    layout = db.Layout(editable)
    options = db.LoadLayoutOptions()
    wanted = sorted(set(layers)) if layers is not None else None
    if wanted is not None:
        layer_map = db.LayerMap()
        for number, (layer, datatype) in enumerate(wanted):
            layer_map.map(db.LayerInfo(layer, datatype), number)
        options.layer_map = layer_map
        options.create_other_layers = False
    try:
        layout.read(path, options)
    except RuntimeError as exc:
        raise LayoutFileError(f"cannot read {path}: {_klayout_message(exc)}") from None
    if wanted is not None:
        _drop_layers_not_in_file(layout)
    return layout


def _drop_layers_not_in_file(layout: "db.Layout") -> None:
    """A layer map creates every layer it names, even one the file does not have: delete those, so
    an unknown layer is reported as after a full read."""
    tops = [layout.cell(index) for index in layout.each_top_cell()]
    for index in list(layout.layer_indexes()):
        if all(top.bbox(index).empty() for top in tops):
            layout.delete_layer(index)


def write_layout(layout: "db.Layout", path: str, *, layers: "Iterable[int] | None" = None) -> None:
    """Write the layout to ``path`` atomically and verified (see safe_write): a failed or short
    write leaves the old file as it was and no partial file.

    ``layers``: write only these layers, and only the cells that hold something on them (with the
    cells above that place them): a result-only file, as mask-data flows want it."""
    check_output_path(path)
    options = db.SaveLayoutOptions()
    options.set_format_from_filename(path)
    if layers is not None:
        options.deselect_all_layers()
        for index in layers:
            options.add_layer(index, layout.get_info(index))
        options.no_empty_cells = True
    try:
        replace_atomically(path, lambda temp: layout.write(temp, options), _full_suffix(path),
                           verify=_verify_layout_file)
    except RuntimeError as exc:  # KLayout names the temporary file: the user knows only ``path``
        reason = re.sub(r"\S*" + re.escape(TEMP_PREFIX) + r"\d+@\w*-\w+/+new[\w.]*", path, _klayout_message(exc))
        reason = re.sub(r"\(errno=(\d+)\)", lambda m: f"({os.strerror(int(m.group(1)))})", reason)
        raise LayoutFileError(f"cannot write {path}: {reason}{_unchanged(path)}") from None
    except OSError as exc:
        raise LayoutFileError(f"cannot write {path}: {exc.strerror or exc}{_unchanged(path)}") from None


def _unchanged(path: str) -> str:
    return "; the existing file is unchanged" if os.path.exists(path) else "; nothing was written"


def _verify_layout_file(path: str) -> None:
    """The file ends as a complete GDS (ENDLIB record) or OASIS (END record) file must; a gzip file
    is read to its end first (CRC and length)."""
    if path.lower().endswith(".gz"):
        tail = verify_gzip_stream(path)
    else:
        with open(path, "rb") as stream:
            stream.seek(max(0, os.path.getsize(path) - 256))
            tail = stream.read()
    stem = path[:-3] if path.lower().endswith(".gz") else path
    if stem.lower().endswith((".oas", ".oasis")):
        complete = len(tail) == 256 and tail[0] == 2  # the END record is padded to 256 bytes
    else:
        # ENDLIB is 00 04 04 00, possibly followed by zero padding
        complete = tail.rstrip(b"\0").endswith(b"\x00\x04\x04")
    if not complete:
        raise WriteCheckError(errno.EIO, "the written file is incomplete (no end record)")


def check_input_path(path: str) -> None:
    """Fail early when ``path`` is not a readable regular file (a FIFO or device would hang the reader)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise LayoutFileError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise LayoutFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise LayoutFileError(f"cannot read {path}: it is a directory")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
        raise LayoutFileError(f"cannot read {path}: it is {kind}; give a GDS or OASIS file")
    if not os.access(path, os.R_OK):
        raise LayoutFileError(f"cannot read {path}: permission denied")


def check_output_path(path: str) -> None:
    """Fail early (before any work) when ``path`` cannot be an output layout file."""
    if not path.lower().endswith(LAYOUT_SUFFIXES):
        raise LayoutFileError(f"cannot write {path}: the name must end in .gds, .oas (optionally .gz)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise LayoutFileError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise LayoutFileError(f"cannot write {path}: directory {directory} is not writable")
    if os.path.isdir(path):
        raise LayoutFileError(f"cannot write {path}: it is a directory")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise LayoutFileError(f"cannot write {path}: it exists and is not a regular file")
    _check_directory_accepts_files(directory, path)


def _check_directory_accepts_files(directory: str, path: str) -> None:
    """Create and remove a file there: /proc, read-only mounts and the like refuse it now, not after the run."""
    try:  # a folder named like safe_write's: should a signal or kill strike here, it is cleaned up too
        probe = tempfile.mkdtemp(prefix=temp_prefix(), dir=directory)
    except OSError as exc:
        raise LayoutFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        open(os.path.join(probe, "probe"), "wb").close()
    except OSError as exc:
        raise LayoutFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def find_cell(layout: "db.Layout", name: str | None = None) -> "db.Cell":
    """The cell called ``name``, or the single top cell when ``name`` is None."""
    if name is not None:
        cell = layout.cell(name) if layout.has_cell(name) else None
        if cell is None:
            raise CellNotFoundError(f"unknown cell {name!r}")
        return cell
    tops = [layout.cell(index) for index in layout.each_top_cell()]
    if len(tops) == 1:
        return tops[0]
    if not tops:
        raise CellNotFoundError("the layout has no cells")
    names = ", ".join(sorted(top.name for top in tops)[:20])
    more = f" and {len(tops) - 20} more" if len(tops) > 20 else ""
    raise CellNotFoundError(f"the layout has {len(tops)} top cells ({names}{more}): choose one with --cell")


def _full_suffix(path: str) -> str:
    lower = path.lower()
    for suffix in sorted(LAYOUT_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return path[-len(suffix):]
    return ""


def _klayout_message(exc: Exception) -> str:
    text = str(exc).strip()
    # KLayout appends " in Layout.read" etc.; the user needs only the reason.
    for tail in (" in Layout.read", " in Layout.write", " in Layout.read_fmt"):
        if text.endswith(tail):
            text = text[: -len(tail)]
    return text
