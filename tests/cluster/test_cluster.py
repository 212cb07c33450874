"""Tiled evaluation and replay on a Dask LocalCluster of 2 worker processes (layertools.cluster).

Every result is compared with the single-process tiled strategy on the same real layout: the XOR
is empty and the shape counts are equal.  Faults (a killed worker, an input that changes or cannot
be read, no scheduler, Ctrl-C) end in the same output or in a clear error with nothing written.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, data_file
from layertools.compat import db
from layertools.engine import evaluate
from layertools.layoutio import read_layout
from layertools.recipe import parse_recipe, replay

distributed = pytest.importorskip("distributed")

from layertools.cluster.client import ClusterError, Distributor, cut_bands  # noqa: E402
from layertools.cluster.worker import InputFile  # noqa: E402
from layertools.engine.tiled import plan_tiles  # noqa: E402

TT = "tt_um_obriensp_be8.gds.gz"
VEX = "vexriscv.oas.gz"
CARAVEL = "caravel_routing.gds.gz"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def shapes_of(layout, to: str) -> tuple["db.Region", int]:
    info = db.LayerInfo.from_string(to)
    index = layout.find_layer(info.layer, info.datatype)
    assert index is not None, f"no layer {to}"
    top = layout.top_cell()
    # stored shapes, counted one by one: Shapes.size() of a viewer-mode layout read from OASIS counts a
    # repetition (an array of shapes) differently
    count = sum(1 for c in [top.cell_index(), *top.called_cells()] for _ in layout.cell(c).shapes(index).each())
    return db.Region(top.begin_shapes_rec(index)), count


def assert_same(local, clustered, to: str) -> int:
    region_local, count_local = shapes_of(local, to)
    region_cluster, count_cluster = shapes_of(clustered, to)
    assert count_cluster == count_local
    assert (region_local ^ region_cluster).is_empty()
    return count_local


@pytest.mark.parametrize("name, expression, fmt, max_verts, partition, bands", [
    # Joined with JoinMaxPolyVerts 8: many polygons broken, the ones with holes in the client
    (TT, "bloat(0.2, 68/20, 0) - 69/20", "joined", 8, 20, 4),
    (TT, "(68/20 | 69/20) & !67/20", "hsplit", 600, 15, 1),                 # Horiz Split, one band
    (VEX, "bloat(0.3, 3/0, 0) ^ 4/0", "vsplit", 600, 25, 7),                # Vert Split, OASIS input
    # a precomputed global input; Joined without a vertex limit: polygons with holes travel as point lists
    (CARAVEL, "extent(71/20) - bloat(0.5, 71/20, 0)", "joined", 0, 200, 3),
])
def test_cluster_equals_single_process_tiled(client, name, expression, fmt, max_verts, partition, bands):
    path = str(data_file(name))
    local, clustered = read_layout(path), read_layout(path)
    options = dict(strategy="tiled", partition=partition, format=fmt, threads=1, join_max_poly_verts=max_verts)
    evaluate(local, None, expression, "100/0", **options)
    distributor = Distributor(client, InputFile.of(path), client.scheduler.address, bands_per_worker=bands)
    result = evaluate(clustered, None, expression, "100/0", distribute=distributor, **options)
    assert result.tiles > 1
    assert assert_same(local, clustered, "100/0") > 100
    if max_verts == 0:
        region, _ = shapes_of(clustered, "100/0")
        region.merged_semantics = False
        assert not region.with_holes(1, None, False).is_empty()  # the point-list path was taken


@settings(max_examples=200, deadline=None)
@given(width=st.integers(1, 400_000), height=st.integers(1, 400_000), tile=st.sampled_from([5.0, 10.0, 33.3, 100.0]),
       wanted=st.integers(1, 300))
def test_bands_cover_every_tile_once_with_two_or_more_tiles(width, height, tile, wanted):
    plan = plan_tiles(db.Box(0, 0, width, height), 0.001, tile, 0.5)
    bands = cut_bands(plan, wanted)
    tiles = [(x, y) for band in bands for x in range(band.col0, band.col1) for y in range(band.row0, band.row1)]
    assert sorted(tiles) == [(x, y) for x in range(plan.nx) for y in range(plan.ny)]
    assert all(band.tiles >= 2 for band in bands) or plan.tiles == 1
    assert len(bands) < max(1, wanted) + plan.ny  # "about" wanted: whole rows, each cut alike


RECIPE = """\
layertools: 1
steps:
  - {expression: "68/20 & 69/20", to: "VIAOK 100/0", strategy: tiled, partition: 30}
  - {expression: "bloat(0.1, VIAOK, 0) - 68/20", to: "101/0", strategy: tiled, partition: 25, format: hsplit}
  - {expression: "68/20 | 100/0", to: "68/20", strategy: deep}
  - {expression: "69/20 ^ 68/20", to: "102/0", strategy: tiled, partition: 40}
"""


def test_recipe_replay_on_cluster_equals_local(client):
    """Later steps read layers that earlier steps wrote (not in the file): shipped to the workers."""
    path = str(data_file(TT))
    recipe = parse_recipe(RECIPE)
    local, clustered = read_layout(path), read_layout(path)
    replay(local, recipe)
    results = replay(clustered, recipe,
                     distribute=Distributor(client, InputFile.of(path), client.scheduler.address))
    assert [r.strategy for r in results] == ["tiled", "tiled", "deep", "tiled"]
    for to in ("100/0", "101/0", "68/20", "102/0"):
        assert_same(local, clustered, to)


def test_input_changed_during_run_fails_and_writes_nothing(client, tmp_path):
    path = tmp_path / "tt.gds.gz"
    path.write_bytes(data_file(TT).read_bytes())
    layout = read_layout(str(path))
    distributor = Distributor(client, InputFile.of(str(path)), client.scheduler.address, bands_per_worker=8)

    def touch_once(message, fraction):
        if message.startswith("cluster: 0/"):
            os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(ClusterError, match="changed during the run"):
        evaluate(layout, None, "bloat(0.2, 68/20, 0)", "100/0", strategy="tiled", partition=20,
                 distribute=distributor, progress=touch_once)
    assert layout.find_layer(100, 0) is None


def test_worker_that_cannot_read_the_input_is_a_clear_error(client, tmp_path):
    layout = read_layout(str(data_file(TT)))
    absent = InputFile(str(tmp_path / "not-on-the-workers.gds"), 1, 1)
    with pytest.raises(ClusterError, match="cannot read .*shared file system"):
        evaluate(layout, None, "68/20 & 69/20", "100/0", strategy="tiled", partition=20,
                 distribute=Distributor(client, absent, client.scheduler.address))
    assert layout.find_layer(100, 0) is None


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    return subprocess.run([sys.executable, "-m", "layertools", *args], env=env, capture_output=True,
                          text=True, timeout=240, **kwargs)


def test_eval_against_a_scheduler_address(client, tmp_path):
    """The --scheduler path, end to end, against the scheduler this module started on 127.0.0.1."""
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    path = str(data_file(TT))
    expression = "bloat(0.2, 68/20, 0) - 69/20"
    done = run_cli("eval", path, expression, "--to", "100/0", "-o", str(tmp_path / "out.gds"),
                   "--partition", "20", "--scheduler", address)
    assert done.returncode == 0, done.stderr
    assert "cluster: 70/70 tiles done, 2 worker(s)" in done.stderr  # the batch log
    local = read_layout(path)
    evaluate(local, None, expression, "100/0", strategy="tiled", partition=20)
    assert_same(local, read_layout(str(tmp_path / "out.gds")), "100/0")


def test_replay_command_against_a_scheduler_address(client, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE)
    path = str(data_file(TT))
    done = run_cli("replay", str(recipe), path, "-o", str(tmp_path / "out.oas"),
                   "--scheduler", client.scheduler.address)
    assert done.returncode == 0, done.stderr
    assert "warning: the deep strategy runs in this process" in done.stdout   # step 3 stays local
    local = read_layout(path)
    replay(local, parse_recipe(RECIPE))
    clustered = read_layout(str(tmp_path / "out.oas"))
    for to in ("100/0", "101/0", "68/20", "102/0"):
        assert_same(local, clustered, to)


def test_bad_cluster_spec_is_a_usage_error(tmp_path, capsys):
    from layertools.cli import main
    status = main(["eval", str(data_file(TT)), "68/20", "--to", "100/0", "-o", str(tmp_path / "o.gds"),
                   "--cluster", "local:0"])
    assert status == 2
    assert "--cluster must be local or local:N with N >= 1" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    output = tmp_path / "out.gds"
    done = run_cli("eval", str(data_file(TT)), "68/20", "--to", "100/0", "-o", str(output),
                   "--scheduler", "tcp://127.0.0.1:9")
    assert done.returncode == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
    assert not output.exists()


def test_scheduler_gone_mid_run_is_a_clear_error(tmp_path):
    """A scheduler (and worker) this test starts on 127.0.0.1 is killed while the tiles run."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    with socket.socket() as probe:  # a port free on 127.0.0.1 right now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = dict(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--no-dashboard"], **quiet)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                               "--no-dashboard", "--death-timeout", "20"], **quiet)
    output = tmp_path / "out.gds"
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "layertools", "eval", str(data_file(TT)), "bloat(0.3, 68/20, 0) ^ 69/20",
             "--to", "100/0", "-o", str(output), "--partition", "1", "--scheduler", address],
            env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = process.stderr.readline()   # the client waits for the scheduler's first answer
        assert first.startswith("layertools: cluster: 0/"), first
        scheduler.kill()
        _, rest = process.communicate(timeout=60)
    finally:
        for child in (scheduler, worker):
            child.kill()
            child.wait()
    assert process.returncode == 1
    assert f"Dask scheduler at {address}" in rest and "Traceback" not in rest
    assert not output.exists()


def test_ctrl_c_cancels_and_leaves_nothing(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C: the client and the LocalCluster it
    started stop, no output and no temporary file stays, no traceback is shown."""
    output = tmp_path / "out.gds"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    process = subprocess.Popen(
        [sys.executable, "-m", "layertools", "eval", str(data_file(TT)), "bloat(0.3, 68/20, 0) ^ 69/20",
         "--to", "100/0", "-o", str(output), "--partition", "1", "--cluster", "local:2"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored, as in a shell
    try:
        first = process.stderr.readline()
        assert first.startswith("layertools: cluster: 0/"), first   # the tiles are running
        os.killpg(process.pid, signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1
    assert "interrupted; nothing was written" in rest and "Traceback" not in rest
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_names_the_install_command(tmp_path, capsys, monkeypatch):
    from layertools.cli import main
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    output = tmp_path / "out.gds"
    for command in (["eval", str(data_file(TT)), "68/20", "--to", "100/0"],
                    ["replay", str(tmp_path / "r.yaml"), str(data_file(TT))]):
        (tmp_path / "r.yaml").write_text(RECIPE)
        assert main([*command, "-o", str(output), "--cluster", "local:2"]) == 1
        assert "pip install 'layertools[cluster]'" in capsys.readouterr().err
    assert not output.exists()


def test_killed_worker_is_rerun_and_the_result_is_identical(client):
    """Last in this module: it kills one of the module's two workers (its nanny restarts it)."""
    path = str(data_file(TT))
    expression = "bloat(0.3, 68/20, 0) ^ bloat(0.1, 69/20, 0)"
    local, clustered = read_layout(path), read_layout(path)
    evaluate(local, None, expression, "100/0", strategy="tiled", partition=8)
    pids = client.run(os.getpid)
    killed = []

    def kill_one(message, fraction):
        if message.startswith("cluster:") and not killed:
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
    distributor = Distributor(client, InputFile.of(path), client.scheduler.address, bands_per_worker=16)
    evaluate(clustered, None, expression, "100/0", strategy="tiled", partition=8, distribute=distributor,
             progress=kill_one)
    assert killed and killed[0] not in client.run(os.getpid).values()  # it really died
    assert_same(local, clustered, "100/0")
