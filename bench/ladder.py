"""The scale ladder's layouts, generated reproducibly from ../shared/data (nothing downloaded).

Three families, each at sizes spanning >= 100x in flat shapes on the layers its expression reads:
- ``array``: a real design placed k x k times with one CellInstArray (hierarchical reuse grows as k^2);
- ``fill``: n x n boxes on 2/0 minus (2n/5)^2 boxes on 1/0, flat, written as OASIS RECTANGLE records
  with repetitions by :func:`write_fill_oasis` (a few hundred bytes, generator memory independent of n);
- ``flattened``: the k x k array with its top two levels flattened (a real design, hierarchy partly gone).

    python3 bench/ladder.py --family fill --size 10000 --out /tmp/layertools-ladder   # prints the path

Files are cached in the output folder: a case is rewritten only when the generator, the design file
or the size changed (``<case>.json`` beside it records what made it and its flat shape counts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import klayout.db as db

#: ../shared/data next to the checkout, as the tests find it (LAYERTOOLS_DATA overrides).
_BESIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data")
DATA = os.environ.get("LAYERTOOLS_DATA", os.path.normpath(_BESIDE))
#: The real design of the array and flattened families, and the expression each family evaluates.
DESIGN = "tt_um_obriensp_be8.gds.gz"
FAMILIES = {
    "array": {"sizes": (1, 4, 12), "expression": "(68/20 & 69/20) | (68/44 - 68/20)"},
    "fill": {"sizes": (1000, 3000, 5000, 10000), "expression": "2/0 - 1/0"},
    "flattened": {"sizes": (1, 4, 12), "expression": "(68/20 & 69/20) | (68/44 - 68/20)"},
}


def design() -> db.Layout:
    layout = db.Layout()
    layout.read(os.path.join(DATA, DESIGN))
    return layout


def make_array(k: int) -> db.Layout:
    """The design placed k x k times at its bounding box pitch plus 10 %."""
    layout = design()
    inner = layout.top_cell()
    box = inner.bbox()
    pitch_x, pitch_y = int(box.width() * 1.1), int(box.height() * 1.1)
    top = layout.create_cell(f"ARRAY_{k}x{k}")
    top.insert(db.CellInstArray(inner.cell_index(), db.Trans(), db.Vector(pitch_x, 0), db.Vector(0, pitch_y), k, k))
    return layout


def fill_arrays(n: int):
    """The fill's geometry in dbu (0.001 µm): (layer, datatype, box size, pitch, count per side) --
    n x n boxes of 1 µm at 2 µm pitch on 2/0 and 2n/5 x 2n/5 of 3 µm at 5 µm on 1/0 (covers part)."""
    return ((2, 0, 1000, 2000, n), (1, 0, 3000, 5000, 2 * n // 5))


def fill_boxes(n: int) -> int:
    """Flat boxes of the fill of size n (both layers; the expression reads both)."""
    return sum(count * count for *_, count in fill_arrays(n))


def make_fill(n: int) -> db.Layout:
    """The fill of size n as an editable, flat layout in memory (small n only: ~30 bytes per box;
    the ladder's big sizes are written by :func:`write_fill_oasis` without building them)."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("FILL")
    for layer_number, datatype, size, pitch, count in fill_arrays(n):
        layer = layout.layer(layer_number, datatype)
        cell = layout.create_cell(f"BOX_{size}")
        cell.shapes(layer).insert(db.Box(0, 0, size, size))
        top.insert(db.CellInstArray(cell.cell_index(), db.Trans(), db.Vector(pitch, 0), db.Vector(0, pitch),
                                    count, count))
    top.flatten(True)  # flat shapes; the OASIS writer stores them as repetitions
    return layout


#: Largest repetition written as one RECTANGLE record (members per side).  Fill tools emit one
#: array per fill region; blocks keep the file like theirs and each array's bounding box local.
FILL_BLOCK = 1000


def write_fill_oasis(n: int, path: str, block: int = FILL_BLOCK) -> None:
    """Write the fill of size n as OASIS straight from its geometry: one RECTANGLE record with a
    matrix repetition per block of at most ``block`` x ``block`` boxes, in a flat top cell FILL.

    KLayout's own route (flatten arrayed one-box cells, let the writer find repetitions again)
    holds every box in memory first: ~0.8 GB for 3*10^7 boxes, several GB for 10^8.  This writer
    needs none of that; a viewer-mode read keeps the repetitions as shape arrays.
    """
    out = bytearray(b"%SEMI-OASIS\r\n")
    out += b"\x01" + _astring(b"1.0") + b"\x00" + _uint(1000)   # START, version, unit: 1000 per µm
    out += _uint(0) + _uint(0) * 12                                # table offsets here, all absent
    out += b"\x03" + _astring(b"FILL")                             # CELLNAME, reference number 0
    out += b"\x0d" + _uint(0)                                      # CELL 0
    for layer, datatype, size, pitch, count in fill_arrays(n):
        for y0 in range(0, count, block):
            for x0 in range(0, count, block):
                out += _rectangle(layer, datatype, size, x0 * pitch, y0 * pitch,
                                  min(block, count - x0), min(block, count - y0), pitch)
    padding = 252   # END: record id, b-string of 252 (length 2 bytes), validation 0 = 256 bytes
    out += b"\x02" + _uint(padding) + b"\x00" * padding + _uint(0)
    with open(path, "wb") as handle:
        handle.write(out)


def _rectangle(layer: int, datatype: int, size: int, x: int, y: int, nx: int, ny: int, pitch: int) -> bytes:
    # info byte SWHXYRDL: square (S), width (W), X, Y, layer (L), datatype (D), repetition (R) if any
    repetition = b""
    if nx > 1 and ny > 1:
        repetition = _uint(1) + _uint(nx - 2) + _uint(ny - 2) + _uint(pitch) + _uint(pitch)
    elif nx > 1:
        repetition = _uint(2) + _uint(nx - 2) + _uint(pitch)
    elif ny > 1:
        repetition = _uint(3) + _uint(ny - 2) + _uint(pitch)
    info = 0x80 | 0x40 | 0x10 | 0x08 | 0x02 | 0x01 | (0x04 if repetition else 0)
    return (b"\x14" + bytes([info]) + _uint(layer) + _uint(datatype) + _uint(size)
            + _sint(x) + _sint(y) + repetition)


def _uint(value: int) -> bytes:
    """OASIS unsigned-integer: 7 bits per byte, least significant first, high bit = more follows."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sint(value: int) -> bytes:
    """OASIS signed-integer: the sign in the lowest bit of the magnitude."""
    return _uint((abs(value) << 1) | (1 if value < 0 else 0))


def _astring(text: bytes) -> bytes:
    return _uint(len(text)) + text


def make_flattened(k: int) -> db.Layout:
    """The k x k array with its top two levels flattened: the design's own shapes and its macros are
    copied k^2 times, only the standard cells stay shared (less reuse than ``array`` at the same k)."""
    layout = make_array(k)
    layout.top_cell().flatten(2, True)   # prune: cells no longer used go away
    return layout


MAKERS = {"array": make_array, "fill": make_fill, "flattened": make_flattened}


#: Bump when a family's geometry or file format changes: cached files of another version are rewritten.
GENERATOR_VERSION = 2


def case_name(family: str, size: int) -> str:
    return f"{family}_{size}"


def write(family: str, size: int, out_dir: str) -> str:
    """Write (or find in the cache) the ladder case; returns the OASIS path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, case_name(family, size) + ".oas")
    stamp = _stamp(family, size)
    meta_path = path[:-4] + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as handle:
            if json.load(handle).get("stamp") == stamp:
                return path
    if family == "fill":
        write_fill_oasis(size, path)
    else:
        layout = MAKERS[family](size)
        options = db.SaveLayoutOptions()
        options.format = "OASIS"
        options.oasis_compression_level = 2   # the writer's default: cell arrays stay arrays
        layout.write(path + ".part", options)
        os.replace(path + ".part", path)
    with open(meta_path, "w") as handle:
        json.dump({"stamp": stamp, "family": family, "size": size}, handle)
    return path


def _stamp(family: str, size: int) -> dict:
    stamp = {"version": GENERATOR_VERSION, "family": family, "size": size}
    if family != "fill":
        info = os.stat(os.path.join(DATA, DESIGN))
        stamp["design"] = [DESIGN, info.st_size, int(info.st_mtime)]
    return stamp


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(FAMILIES), required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--out", default="/tmp/layertools-ladder")
    args = parser.parse_args(argv)
    print(write(args.family, args.size, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
