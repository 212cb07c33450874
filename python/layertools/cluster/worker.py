"""What a cluster worker runs: read the input once, evaluate bands of tiles, send back OASIS bytes.

Plain KLayout and the standard library: Dask calls ``evaluate_band`` but this module never imports
it, so it can be tested (and reasoned about) without a cluster.  Everything a task receives and
returns is small and picklable: file facts, names, the tile script text, bytes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass

from ..compat import db
from ..engine.tiled import Band, TilingPlan, run_band
from ..layoutio import LayoutFileError, read_layout

RESULT_LAYER = 0  # the layer (number) of the shapes in the OASIS bytes that travel


class WorkerInputError(RuntimeError):
    """The worker cannot use the input file: missing, unreadable, or not the file the run started
    with.  Raised on the worker and re-raised by Dask in the client."""


@dataclass(frozen=True)
class InputFile:
    """The input as the client saw it when the run started: a worker reads it only if it is still
    the same file (size and modification time)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> "InputFile":
        path = os.path.abspath(path)
        facts = os.stat(path)
        return cls(path, facts.st_size, facts.st_mtime_ns)

    def check(self, where: str) -> None:
        try:
            facts = os.stat(self.path)
        except OSError as exc:
            raise WorkerInputError(f"{where} cannot read {self.path}: {exc.strerror or exc} "
                                   "(workers need the input at the same path: a shared file system)") from None
        if (facts.st_size, facts.st_mtime_ns) != (self.size, self.mtime_ns):
            raise WorkerInputError(f"{self.path} changed during the run (size or modification time); "
                                   "run again on a file that stays put")


@dataclass(frozen=True)
class LayerInput:
    """One layer the tile script reads: its name in the script, the layer (number, datatype, name)
    and the cell it is read from (None: the run's cell, to ``depth``)."""

    script_name: str
    layer: int
    datatype: int
    layer_name: str
    cell: str | None


@dataclass(frozen=True)
class BandTask:
    """Everything one task needs besides the bytes of the precomputed inputs."""

    input: InputFile
    cell: str
    depth: int | None
    layers: tuple[LayerInput, ...]
    text: str
    plan: TilingPlan
    band: Band
    threads: int
    reference_box: tuple[int, int, int, int]


# One layout per worker process, kept for the following bands of the run (and the next run on the
# same file and layers).  Only the newest is kept: a farm worker's memory is for one input.
_cache: dict[tuple, "db.Layout"] = {}
_cache_lock = threading.Lock()


def read_needed_layers(path: str, layers: tuple[LayerInput, ...]) -> "db.Layout":
    """The input in viewer mode with only ``layers`` (all layers when one is known by name only)."""
    numbered = all(item.layer >= 0 for item in layers)
    return read_layout(path, layers=[(item.layer, item.datatype) for item in layers] if numbered else None)


def cached_layout(task: BandTask, where: str) -> "db.Layout":
    key = (task.input, tuple(sorted({(item.layer, item.datatype, item.layer_name) for item in task.layers})))
    with _cache_lock:  # a worker with several threads runs several tasks: read once
        layout = _cache.get(key)
        if layout is None:
            task.input.check(where)
            _cache.clear()
            try:
                layout = read_needed_layers(task.input.path, task.layers)
            except RuntimeError as exc:
                raise WorkerInputError(f"{where} cannot read {task.input.path}: {exc}") from None
            except LayoutFileError as exc:  # its message names the file and the reason
                raise WorkerInputError(f"{where}: {exc}") from None
            task.input.check(where)  # changed while it was read
            _cache[key] = layout
    return layout


@dataclass
class BandResult:
    """What a band sends back: the result's polygons as OASIS bytes, except polygons with holes
    (OASIS and GDS cannot hold holes: their writers cut them open), which travel as point lists;
    ``holed`` are the JoinMaxPolyVerts polygons the client still breaks, as in this process."""

    oasis: bytes
    with_holes: list
    holed: list
    tiles: int
    read_seconds: float = 0.0      # this task's read of the input (0 when the worker had it cached)
    compute_seconds: float = 0.0   # the TilingProcessor run and the packing of its result


def evaluate_band(task: BandTask, region_inputs: dict[str, bytes], where: str = "a worker") -> BandResult:
    """Run ``task.band`` of the tile script on the (cached) input."""
    task.input.check(where)
    started = time.perf_counter()
    layout = cached_layout(task, where)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if not layout.has_cell(task.cell):
        raise WorkerInputError(f"{where}: cell {task.cell!r} is not in {task.input.path}")
    cell = layout.cell(task.cell)
    inputs: dict = {}
    for item in task.layers:
        index = _find_layer(layout, item)
        source = cell if item.cell is None else (layout.cell(item.cell) if layout.has_cell(item.cell) else None)
        if index is None or source is None:  # the layer or cell has no shapes in the file
            inputs[item.script_name] = db.Region()
            continue
        iterator = source.begin_shapes_rec(index)
        if task.depth is not None and item.cell is None:
            iterator.max_depth = task.depth
        inputs[item.script_name] = iterator
    for name, data in region_inputs.items():
        inputs[name] = bytes_to_region(data)
    inputs["aoi"] = db.Region(db.Box(*task.reference_box))
    result = db.Layout()
    result.dbu = layout.dbu
    top = result.create_cell("RESULT")
    shapes = top.shapes(result.layer(RESULT_LAYER, 0))
    holed = db.Region()
    run_band(task.text, task.plan, task.band, task.threads, inputs,
             {"o": (result, top.cell_index(), result.layer(RESULT_LAYER, 0)), "holed": holed}, "cluster band")
    raw = db.Region(shapes)
    raw.merged_semantics = False
    with_holes = raw.with_holes(1, None, False)
    if not with_holes.is_empty():  # rare (Joined without a vertex limit): keep them out of the OASIS
        plain = raw.with_holes(0, False)
        shapes.clear()
        shapes.insert(plain)
    return BandResult(layout_to_bytes(result), pack_polygons(with_holes), pack_polygons(holed), task.band.tiles,
                      read_seconds, time.perf_counter() - started)


def pack_polygons(region: "db.Region") -> list:
    """Polygons as (hull, holes) tuples of flat coordinate lists: exact, holes included."""
    def flat(points) -> list[int]:
        return [value for point in points for value in (point.x, point.y)]
    return [(flat(polygon.each_point_hull()), [flat(polygon.each_point_hole(n)) for n in range(polygon.holes())])
            for polygon in region.each()]


def unpack_polygons(packed: list) -> list["db.Polygon"]:
    def points(values: list[int]) -> list["db.Point"]:
        return [db.Point(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    polygons = []
    for hull, holes in packed:
        polygon = db.Polygon(points(hull), True)
        for hole in holes:
            polygon.insert_hole(points(hole), True)
        polygons.append(polygon)
    return polygons


def _find_layer(layout: "db.Layout", item: LayerInput) -> int | None:
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        if item.layer >= 0 and (info.layer, info.datatype) == (item.layer, item.datatype):
            return index
        if item.layer < 0 and info.name == item.layer_name:
            return index
    return None


# -- compact transport: OASIS without repetitions, so every shape comes back as the same shape ------

def layout_to_bytes(layout: "db.Layout") -> bytes:
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 0  # no shape arrays: the receiver inserts shape by shape
    with tempfile.TemporaryDirectory(prefix="layertools-band-") as folder:
        path = os.path.join(folder, "band.oas")
        layout.write(path, options)
        with open(path, "rb") as stream:
            return stream.read()


def bytes_to_layout(data: bytes) -> "db.Layout":
    with tempfile.TemporaryDirectory(prefix="layertools-band-") as folder:
        path = os.path.join(folder, "band.oas")
        with open(path, "wb") as stream:
            stream.write(data)
        layout = db.Layout()
        layout.read(path)
        return layout


def region_to_bytes(region: "db.Region", dbu: float) -> bytes:
    layout = db.Layout()
    layout.dbu = dbu
    layout.create_cell("REGION").shapes(layout.layer(RESULT_LAYER, 0)).insert(region)
    return layout_to_bytes(layout)


def bytes_to_region(data: bytes) -> "db.Region":
    layout = bytes_to_layout(data)
    index = layout.find_layer(RESULT_LAYER, 0)
    region = db.Region()
    if index is not None:
        for top in layout.each_top_cell():
            region.insert(layout.cell(top).shapes(index))
    return region
