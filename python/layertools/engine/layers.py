"""Finding layers and cells named in an expression or as the To layer (D4)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..compat import db
from ..errors import CellNotFoundError, LayerNotFoundError, OptionError
from ..language import LayerRef, is_empty, parse, walk
from ..limits import MAX_LAYER_NUMBER, NumberError, parse_whole
from ..options import EvalOptions

_LD = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")
_NAME_LD = re.compile(r"^\s*(\S+?)\s*\(?\s*([0-9]+)\s*/\s*([0-9]+)\s*\)?\s*$")


def layer_label(layout: "db.Layout", index: int) -> str:
    info = layout.get_info(index)
    if info.layer >= 0 and info.name:
        return f"{info.layer}/{info.datatype} ({info.name})"
    if info.layer >= 0:
        return f"{info.layer}/{info.datatype}"
    return info.name or f"#{index}"


def find_layer_by_ld(layout: "db.Layout", layer: int, datatype: int) -> int | None:
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        if info.layer == layer and info.datatype == datatype:
            return index
    return None


def find_layers_by_name(layout: "db.Layout", name: str, aliases: dict[str, int] | None = None) -> list[int]:
    lower = name.lower()
    found = [i for i in layout.layer_indexes() if layout.get_info(i).name and
             layout.get_info(i).name.lower() == lower]
    if not found and aliases:
        found = sorted({index for alias, index in aliases.items() if alias.lower() == lower})
    return found


def resolve_layer(layout: "db.Layout", ref: LayerRef, text: str,
                  aliases: dict[str, int] | None = None) -> int:
    """The layer index a reference names, or LayerNotFoundError pointing at the reference."""
    if ref.form == "name":
        found = find_layers_by_name(layout, ref.layer, aliases)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            labels = ", ".join(layer_label(layout, i) for i in found)
            raise LayerNotFoundError(f"layer name {ref.layer!r} is ambiguous: {labels}", ref.pos, text)
        if ref.ld is None:
            raise LayerNotFoundError(_unknown_layer_message(layout, ref.layer, aliases), ref.pos, text)
    index = find_layer_by_ld(layout, *ref.ld) if ref.ld else None
    if index is None:
        message = _unknown_layer_message(layout, ref.text or ref.layer, aliases)
        if ref.form == "hex" and ref.ld is not None:
            message += (f" ({ref.text} is read as GDS layer {ref.ld[0]}/{ref.ld[1]}, Xic's 4/8-hex-digit "
                        f"rule; for the number write {ref.text.rstrip('.')}.0)")
        raise LayerNotFoundError(message, ref.pos, text)
    return index


def resolve_cell(layout: "db.Layout", name: str, pos: int, text: str, layer: str | None = None,
                 aliases: dict[str, int] | None = None) -> int:
    if layout.has_cell(name):
        return layout.cell(name).cell_index()
    if layer is not None and find_layers_by_name(layout, f"{layer}.{name}", aliases):
        # A layer name with a dot (e.g. from a .lyp file): the dot reads as lname.cellname.
        raise CellNotFoundError(f'unknown cell {name!r}: for the layer named "{layer}.{name}" write it in '
                                f'double quotes', pos, text)
    names = [layout.cell(i).name for i in range(layout.cells())]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CellNotFoundError(f"unknown cell {name!r}{hint}", pos, text)


def _unknown_layer_message(layout: "db.Layout", name: str, aliases: dict[str, int] | None) -> str:
    labels = [layer_label(layout, i) for i in sorted(layout.layer_indexes(),
                                                     key=lambda i: (layout.get_info(i).layer,
                                                                    layout.get_info(i).datatype))]
    if not labels:
        return f"unknown layer {name!r}; the layout has no layers"
    if len(labels) <= CLOSEST_SHOWN:
        return f"unknown layer {name!r}; the layout has {', '.join(labels)}"
    near = closest_layer_labels(str(name), labels + sorted(aliases or {}), CLOSEST_SHOWN)
    return f"unknown layer {name!r}; closest: {', '.join(near)} (of {len(labels)} layers)"


CLOSEST_SHOWN = 5  # a message listing 40 layer names was unreadable in the panel


def closest_layer_labels(name: str, labels: list[str], count: int) -> list[str]:
    """The ``count`` labels most like ``name``: nearest layer/datatype numbers for an 'L/D', else by
    spelling."""
    wanted = _LD.match(name)
    numbered = [(label, re.search(r"(\d+)/(\d+)", label)) for label in labels]
    if wanted:
        layer, datatype = int(wanted.group(1)), int(wanted.group(2))
        ranked = sorted((abs(int(m.group(1)) - layer), abs(int(m.group(2)) - datatype), label)
                        for label, m in numbered if m)
        return [label for _l, _d, label in ranked[:count]]
    return difflib.get_close_matches(name, labels, n=count, cutoff=0.0)


@dataclass
class ToLayer:
    """The To layer: an existing layer index, or the LayerInfo to create when writing."""

    info: "db.LayerInfo"
    index: int | None
    label: str

    def ensure(self, layout: "db.Layout") -> int:
        if self.index is None:
            self.index = layout.insert_layer(self.info)
        return self.index


def _target_number(digits: str) -> int:
    try:
        return parse_whole(digits, "target layer number", MAX_LAYER_NUMBER)
    except NumberError as exc:
        raise OptionError(str(exc)) from None


def _target_numbers(text: str) -> "tuple[str | None, int, int] | None":
    """(name or None, layer, datatype) of a To layer written ``L/D``, ``name L/D`` or ``name (L/D)``;
    None for a plain name."""
    ld = _LD.match(text)
    if ld:
        return None, _target_number(ld.group(1)), _target_number(ld.group(2))
    named = _NAME_LD.match(text)
    if named:
        return named.group(1), _target_number(named.group(2)), _target_number(named.group(3))
    return None


def resolve_target(layout: "db.Layout", spec: str, aliases: dict[str, int] | None = None) -> ToLayer:
    """Parse a To layer: ``L/D``, ``name``, ``name L/D`` or ``name (L/D)``; find it or plan its creation."""
    text = (spec or "").strip()
    if not text:
        raise OptionError("no target layer given (the To layer is empty)")
    numbered = _target_numbers(text)
    if numbered is not None:
        name, layer, datatype = numbered
        index = find_layer_by_ld(layout, layer, datatype)
        if index is not None:
            info = layout.get_info(index)
        else:
            info = db.LayerInfo(layer, datatype) if name is None else db.LayerInfo(layer, datatype, name)
        label = f"{layer}/{datatype}" if name is None else f"{name} ({layer}/{datatype})"
        return ToLayer(info, index, label)
    if len(text.split()) > 1 or any(ch in text for ch in "()&|^!~+*-/,="):
        raise OptionError(f"target layer {spec!r} is not a layer: write L/D, a name, or 'name L/D'")
    found = find_layers_by_name(layout, text, aliases)
    if len(found) > 1:
        labels = ", ".join(layer_label(layout, i) for i in found)
        raise OptionError(f"target layer name {text!r} is ambiguous: {labels}")
    if found:
        return ToLayer(layout.get_info(found[0]), found[0], text)
    return ToLayer(db.LayerInfo(text), None, text)


def layers_read(expression: str, target: str | None = None) -> "set[tuple[int, int]] | None":
    """The (layer, datatype) pairs an evaluation reads from the file, known before reading it: the
    expression's layers, and the To layer when its objects stay (``target``; None when it is
    cleared).  None when a layer is named by a name only, which the file's layer table would have to
    resolve: then every layer must be read."""
    found: set[tuple[int, int]] = set()
    if not is_empty(expression):
        for node in walk(parse(expression)):
            if isinstance(node, LayerRef):
                if node.form == "name" or node.ld is None:
                    return None
                found.add(node.ld)
    if target is not None:
        numbered = _target_numbers(target.strip())
        if numbered is None:
            return None
        found.add(numbered[1:])
    return found


def layers_to_load(expression: str, options: EvalOptions) -> "set[tuple[int, int]] | None":
    """:func:`layers_read` for an evaluation with ``options`` (EvalOptions): the To layer is read
    only when its objects stay (Don't clear, or object merging)."""
    return layers_read(expression, None if options.clear and not options.merge else options.to)
