"""Reading and writing layout files, and finding the cell to work on, with errors a user can act on."""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Iterable

from .compat import db
from .errors import CellNotFoundError, LayertoolsError

LAYOUT_SUFFIXES = (".gds", ".gds2", ".gdsii", ".oas", ".oasis", ".gds.gz", ".gds2.gz", ".oas.gz", ".oasis.gz")


class LayoutFileError(LayertoolsError):
    """A layout file that cannot be read or written."""


def read_layout(path: str, *, layers: "Iterable[tuple[int, int]] | None" = None,
                editable: bool = False) -> "db.Layout":
    """Read a GDS or OASIS file (optionally gzipped) into a new Layout.

    Viewer mode (``editable=False``, the default) is how ``klayout -b`` reads a file: OASIS repetitions
    and GDS arrays stay compact (a 30 M-box fill OASIS of 419 bytes: 74 MB read in viewer mode,
    774 MB editable) and the engine works on such a layout as on an editable one.  ``layers``: the
    (layer, datatype) pairs to load; the reader skips every other layer, so it never takes memory.
    """
    if not os.path.exists(path):
        raise LayoutFileError(f"cannot read {path}: no such file")
    if os.path.isdir(path):
        raise LayoutFileError(f"cannot read {path}: it is a directory")
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
    """Write the layout to ``path`` atomically: a failed write leaves no (partial) file.

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
        replace_atomically(path, lambda temp: layout.write(temp, options), _full_suffix(path))
    except RuntimeError as exc:
        raise LayoutFileError(f"cannot write {path}: {_klayout_message(exc)}") from None


def replace_atomically(path: str, write: Callable[[str], None], suffix: str = "") -> None:
    """Call ``write(temporary path)`` beside ``path``, then rename it over ``path``: readers see the
    old file or the whole new one, and a failure leaves no partial file.  Errors propagate."""
    fd, temp = tempfile.mkstemp(prefix=".layertools-", suffix=suffix, dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def check_output_path(path: str) -> None:
    """Fail early (before any work) when ``path`` cannot be an output layout file."""
    if not path.lower().endswith(LAYOUT_SUFFIXES):
        raise LayoutFileError(f"cannot write {path}: the name must end in .gds, .oas (optionally .gz)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise LayoutFileError(f"cannot write {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise LayoutFileError(f"cannot write {path}: directory {directory} is not writable")


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
