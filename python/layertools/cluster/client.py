"""The client side of a cluster run: cut the tile plan into bands, send them to Dask workers, put
the returned shapes into the engine's scratch layer (the engine then commits as for any strategy).

Nothing here imports Dask at module level: the client object comes from ``layertools.cluster.session``.
"""

from __future__ import annotations

import math
import socket
import time
from typing import Callable

from ..compat import db
from ..engine.tiled import Band, TileRun, TilingPlan
from ..errors import ClusterError, EvaluationError
from .worker import (
    RESULT_LAYER,
    BandResult,
    BandTask,
    InputFile,
    LayerInput,
    WorkerInputError,
    bytes_to_layout,
    evaluate_band,
    region_to_bytes,
    unpack_polygons,
)

BANDS_PER_WORKER = 4       # several bands per worker: a slow band does not leave the others idle
SCHEDULER_GRACE_S = 10.0   # how long the client may be disconnected before the run is given up
POLL_S = 0.2               # the client waits in short steps: Ctrl-C and a lost scheduler are seen



def cut_bands(plan: TilingPlan, wanted: int) -> list[Band]:
    """About ``wanted`` bands of whole tile rows; when there are fewer rows than that, rows are
    cut into column ranges as well.  Every tile is in exactly one band, and every band has at least
    two tiles: KLayout runs a one-tile array untiled (the whole input, no clip), which is right only
    when the whole plan is that one tile."""
    if plan.tiles < 2:
        return [Band(0, plan.nx, 0, plan.ny)]
    wanted = max(1, min(wanted, plan.tiles // 2))
    if plan.nx == 1 or plan.ny >= wanted:
        count = min(wanted, plan.ny // 2) if plan.nx == 1 else wanted
        edges = [round(i * plan.ny / count) for i in range(count + 1)]
        return [Band(0, plan.nx, r0, r1) for r0, r1 in zip(edges, edges[1:])]
    per_row = min(plan.nx // 2, math.ceil(wanted / plan.ny))
    edges = [round(i * plan.nx / per_row) for i in range(per_row + 1)]
    return [Band(c0, c1, row, row + 1) for row in range(plan.ny) for c0, c1 in zip(edges, edges[1:])]


def _band_on_worker(task: BandTask, region_inputs: dict[str, bytes]) -> BandResult:
    """The task Dask runs (by reference to this module, on the worker)."""
    try:
        from distributed import get_worker
        where = f"the worker on {socket.gethostname()} ({get_worker().address})"
    except (ImportError, ValueError):
        where = f"the worker on {socket.gethostname()}"
    return evaluate_band(task, region_inputs, where)


class Distributor:
    """Runs the tiles of tiled evaluations on a Dask cluster; see ``engine.evaluate_with_options(distribute=...)``."""

    def __init__(self, client, input_file: InputFile, address: str,
                 log: Callable[[str], None] | None = None, bands_per_worker: int = BANDS_PER_WORKER):
        self.client = client
        self.input = input_file
        self.address = address
        self.log = log
        self.bands_per_worker = bands_per_worker
        self.written: set[int] = set()    # layers of the client's layout that no longer match the file
        # Where the time went, summed over bands (for the batch log, the benchmark and the model in
        # doc/cluster.md): reads on the workers, compute on the workers, merging here.
        self.seconds = {"worker_read": 0.0, "worker_compute": 0.0, "client_merge": 0.0}

    def layer_written(self, layer_index: int) -> None:
        """A step wrote this layer: later steps ship its shapes instead of reading the file's."""
        self.written.add(layer_index)

    def workers(self) -> int:
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # a lost scheduler: the wait loop reports it
            return 0

    def run_tiles(self, run: TileRun, sink: tuple, holed: "db.Region", progress=None) -> None:
        layout, source = run.source.layout, run.source
        layers, shipped = [], {}
        for (layer_index, cell_index), name in run.layer_inputs.items():
            if layer_index in self.written:   # made by an earlier step: not in the file
                cell = source.cell if cell_index is None else layout.cell(cell_index)
                iterator = cell.begin_shapes_rec(layer_index)
                if source.depth is not None and cell_index is None:
                    iterator.max_depth = source.depth
                shipped[name] = region_to_bytes(db.Region(iterator), layout.dbu)
                continue
            info = layout.get_info(layer_index)
            layers.append(LayerInput(name, info.layer, info.datatype, info.name or "",
                                     None if cell_index is None else layout.cell(cell_index).name))
        for name, region in run.region_inputs.items():  # global subexpressions: computed once, here
            shipped[name] = region_to_bytes(region, layout.dbu)
        box = run.reference_box
        bands = cut_bands(run.plan, self.bands_per_worker * max(1, self.workers()))
        tasks = [BandTask(self.input, source.cell.name, source.depth, tuple(layers), run.text, run.plan,
                          band, run.threads, (box.left, box.bottom, box.right, box.top)) for band in bands]
        started = time.perf_counter()
        self._run(tasks, shipped, run.plan.tiles, sink, holed, progress)
        self._check_input()
        if self.log is not None:
            spent = self.seconds
            self.log(f"cluster: {run.plan.tiles} tiles in {len(bands)} bands, {time.perf_counter() - started:.1f} s; "
                     f"so far workers read {spent['worker_read']:.1f} s and computed {spent['worker_compute']:.1f} s, "
                     f"merging here {spent['client_merge']:.1f} s")

    def _run(self, tasks: list[BandTask], shipped: dict[str, bytes], total: int, sink: tuple,
             holed: "db.Region", progress) -> None:
        client = self.client
        try:
            shipped_future = client.scatter(shipped, broadcast=True, hash=False) if shipped else {}
            pending = [client.submit(_band_on_worker, task, shipped_future, pure=False, retries=0)
                       for task in tasks]
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"lost the Dask scheduler at {self.address}: {exc}") from None
        layout, cell_index, layer_index = sink
        shapes = layout.cell(cell_index).shapes(layer_index)
        done_tiles, disconnected_since = 0, None
        report = _Reporter(progress, self.log, total)
        report(0, self.workers())
        try:
            while pending:
                finished = [future for future in pending if future.done()]
                for future in finished:
                    result = self._result(future)
                    started = time.perf_counter()
                    done_tiles += self._merge(result, shapes, holed)
                    self.seconds["client_merge"] += time.perf_counter() - started
                    self.seconds["worker_read"] += result.read_seconds
                    self.seconds["worker_compute"] += result.compute_seconds
                    future.release()
                if finished:
                    gone = {id(future) for future in finished}
                    pending = [future for future in pending if id(future) not in gone]
                    report(done_tiles, self.workers())
                if client.status != "running":
                    disconnected_since = disconnected_since or time.monotonic()
                    if time.monotonic() - disconnected_since > SCHEDULER_GRACE_S:
                        raise ClusterError(f"lost the Dask scheduler at {self.address} "
                                           f"({done_tiles} of {total} tiles done)")
                else:
                    disconnected_since = None
                if pending and not finished:
                    time.sleep(POLL_S)
        except BaseException:
            # An error, a lost scheduler or Ctrl-C: stop the cluster's remaining work.
            try:
                client.cancel(pending, force=True)
            except Exception:
                pass
            raise

    @staticmethod
    def _merge(result: BandResult, shapes: "db.Shapes", holed: "db.Region") -> int:
        band = bytes_to_layout(result.oasis)
        index = band.find_layer(RESULT_LAYER, 0)
        if index is not None:
            for top in band.each_top_cell():
                shapes.insert(band.cell(top).shapes(index))
        for polygon in unpack_polygons(result.with_holes):
            shapes.insert(polygon)
        for polygon in unpack_polygons(result.holed):
            holed.insert(polygon)
        return result.tiles

    def _result(self, future) -> BandResult:
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            raise ClusterError(f"the Dask scheduler at {self.address} dropped the work (it stopped or restarted)")
        exc = future.exception()
        if isinstance(exc, WorkerInputError):
            raise ClusterError(str(exc)) from None
        if type(exc).__name__ == "KilledWorker":
            raise ClusterError(f"workers kept dying on a band of tiles ({exc}); "
                               "give the workers more memory or use smaller partitions") from None
        if isinstance(exc, RuntimeError):  # KLayout's own error, raised in the tile script
            raise EvaluationError(f"evaluation failed on a worker: {exc}; the layout is unchanged") from None
        raise ClusterError(f"a worker failed: {type(exc).__name__}: {exc}") from None

    def _check_input(self) -> None:
        try:
            self.input.check("layertools")
        except WorkerInputError as exc:
            raise ClusterError(str(exc)) from None


class _Reporter:
    """Progress of a cluster run: the engine's progress callback (a terminal line) gets every
    change; the batch log gets a line at start, every tenth and the end."""

    def __init__(self, progress, log, total: int):
        self.progress, self.log, self.total = progress, log, total
        self.logged_tenth = -1

    def __call__(self, done: int, workers: int) -> None:
        message = f"cluster: {done}/{self.total} tiles done, {workers} worker(s)"
        if self.progress is not None:
            self.progress(message, done / self.total if self.total else None)
        tenth = int(10 * done / self.total) if self.total else 10
        if self.log is not None and tenth > self.logged_tenth:
            self.logged_tenth = tenth
            self.log(message)
