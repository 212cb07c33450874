"""D10: after any failure or cancel the layout is byte-for-byte what it was."""

from __future__ import annotations

import os
import tempfile

import pytest

import layertools
from conftest import data_file
from layertools.compat import db
from layouts import fixture_f1, fixture_f2


def layout_bytes(layout: "db.Layout") -> bytes:
    options = db.SaveLayoutOptions()
    options.format = "GDS2"
    options.gds2_write_timestamps = False
    fd, path = tempfile.mkstemp(suffix=".gds")
    os.close(fd)
    try:
        layout.write(path, options)
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


FAILURES = [
    ("A & | B", "NEW", {}),
    ("A & Q", "NEW", {}),
    ("A & -B", "NEW", {}),
    ("bloat(5, A)", "NEW", {}),
    ("A.NOSUCH | B", "NEW", {}),
    ("A B", "NEW", {}),
    ("sqz(A) & 1000", "A", {}),
    ("A | B", "", {}),
    ("A | B", "x & y", {}),
    ("A | B", "A", {"depth": "some"}),
    ("A | B", "A", {"format": "wide"}),
    ("A | B", "A", {"strategy": "magic"}),
]


@pytest.mark.parametrize("expression, to, options", FAILURES)
@pytest.mark.parametrize("fixture", [fixture_f1, fixture_f2])
def test_failures_leave_the_layout_unchanged(fixture, expression, to, options):
    layout, top = fixture()
    before = layout_bytes(layout)
    with pytest.raises(layertools.LayertoolsError):
        layertools.evaluate(layout, top, expression, to, **options)
    assert layout_bytes(layout) == before


@pytest.mark.parametrize("strategy", ["flat", "tiled", "deep"])
def test_cancel_leaves_the_layout_unchanged(strategy):
    layout = db.Layout()
    layout.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    before = layout_bytes(layout)
    calls = []

    def cancel_on_second_report(message, fraction):
        calls.append(message)
        if len(calls) == 2:
            raise layertools.Cancelled("cancelled by the test")

    with pytest.raises(layertools.Cancelled):
        layertools.evaluate(layout, layout.top_cell(), "(68/20 & 69/20) | !bloat(0.5, 68/44, 0)", "68/20",
                            strategy=strategy, partition=20.0, progress=cancel_on_second_report)
    assert layout_bytes(layout) == before


def test_success_changes_only_the_target_layer():
    layout, top = fixture_f1()
    a = layout.find_layer(db.LayerInfo(2, 0, "A"))
    before = [(i, [str(s) for s in top.shapes(i).each()]) for i in layout.layer_indexes() if i != a]
    layertools.evaluate(layout, top, "A | B", "A")
    after = [(i, [str(s) for s in top.shapes(i).each()]) for i in layout.layer_indexes() if i != a]
    assert before == after


@pytest.mark.parametrize("native", [False, True])
def test_tiles_run_in_bands_only_where_nobody_else_shows_their_progress(native):
    """A progress callback gets bands of tile rows (progress and cancel between them); one that says
    KLayout's own progress bar follows the tiles (the application's) gets them in one run, because
    every band end leaves workers idle.  Either way the result is the same."""
    layout = db.Layout()
    layout.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    messages = []

    class Progress:
        klayout_shows_tile_progress = native

        def __call__(self, message, fraction):
            messages.append(message)

    result = layertools.evaluate(layout, layout.top_cell(), "(68/20 & 69/20) | (68/44 - 68/20)", "1000/0",
                                 strategy="tiled", partition=20.0, threads=2, progress=Progress())
    tile_runs = [m for m in messages if m.startswith("tiles: ")]
    if native:
        assert len(tile_runs) == 1 and " x " in tile_runs[0]
    else:
        assert len(tile_runs) > 1 and all(m.startswith("tiles: rows ") for m in tile_runs)
    top = layout.top_cell()
    written = db.Region(top.begin_shapes_rec(result.layer_index))
    m1, m2, via = (db.Region(top.begin_shapes_rec(layout.find_layer(l, d)))
                   for l, d in ((68, 20), (69, 20), (68, 44)))
    assert (written ^ ((m1 & m2) | (via - m1))).is_empty()
