"""Tiled evaluation and replay on a Dask cluster: a LocalCluster on this machine (``--cluster
local[:N]``) or an existing scheduler (``--scheduler ADDRESS``, e.g. one dask-jobqueue started on an
LSF or SLURM farm).  See doc/cluster.md.

Optional: needs the ``cluster`` extra (``pip install 'layertools[cluster]'``).  Nothing here imports
Dask until a run asks for a cluster; without these options the command line works as before.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Callable, Iterator

from ..errors import MissingDependencyError, OptionError

INSTALL_HINT = "pip install 'layertools[cluster]'   (or: pip install 'dask[distributed]')"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cluster options of ``eval`` and ``replay``."""
    group = parser.add_argument_group("cluster (needs the 'cluster' extra: pip install 'layertools[cluster]')")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="local[:N]",
                       help="run the tiles on a Dask LocalCluster of N worker processes (default: the core count)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the tiles on an existing Dask scheduler, e.g. tcp://host:8786 "
                            "(workers read the input at the same path)")


def local_workers(spec: str) -> int:
    """N of ``local[:N]`` (the core count for ``local``)."""
    text = spec.strip().lower()
    if text == "local":
        return os.cpu_count() or 1
    head, _, count = text.partition(":")
    if head != "local" or not count.isdigit() or int(count) < 1:
        raise OptionError(f"--cluster must be local or local:N with N >= 1 worker processes, not {spec!r}")
    return int(count)


def _dask():
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            f"--cluster and --scheduler need Dask, which is not installed: {INSTALL_HINT}") from None
    return distributed


@contextlib.contextmanager
def session(args: argparse.Namespace, log: Callable[[str], None] | None = None) -> Iterator[object | None]:
    """A ``Distributor`` for the engine while the block runs (None without --cluster/--scheduler);
    a LocalCluster it started is shut down afterwards, whatever happened."""
    spec, address = getattr(args, "cluster", None), getattr(args, "scheduler", None)
    if not spec and not address:
        yield None
        return
    workers = local_workers(spec) if spec else 0
    distributed = _dask()
    _quiet(distributed)
    from .client import ClusterError, Distributor
    from .worker import InputFile
    try:
        input_file = InputFile.of(args.input)
    except OSError:
        input_file = None  # the normal read reports it
    with contextlib.ExitStack() as stack:
        if spec:
            with _workers_ignore_ctrl_c():
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0",  # a free port (no fixed 8787 to collide with other runs)
                    silence_logs=logging.CRITICAL))  # a shut-down cluster logs errors that are none
            address = cluster.scheduler_address
        try:
            client = stack.enter_context(distributed.Client(address, timeout="10s"))
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        if input_file is None:
            yield None
            return
        assert address is not None  # --scheduler gave it, or the LocalCluster --cluster started
        yield Distributor(client, input_file, address, log)


def _quiet(distributed) -> None:
    """Dask logs a lost connection or a shut-down cluster with tracebacks: the user gets our one
    message instead (``DASK_LOGGING__DISTRIBUTED=info`` still works for debugging a farm)."""
    if os.environ.get("DASK_LOGGING__DISTRIBUTED"):
        return
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning, module=r"distributed(\.|$)")  # ports in use, ...
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Worker processes started in this block inherit an ignored SIGINT: a terminal's Ctrl-C
    reaches the whole process group, and only this process should act on it (cancel the tasks,
    shut the cluster down) instead of every worker printing its own traceback."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def batch_log(stream=None) -> Callable[[str], None] | None:
    """Progress lines for a batch log (stderr is not a terminal); None on a terminal, where the
    progress line shows the same."""
    stream = stream or sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return None

    def log(message: str) -> None:
        print(f"layertools: {message}", file=stream, flush=True)
    return log
