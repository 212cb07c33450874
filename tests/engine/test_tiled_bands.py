"""The single-process tiled strategy's progress bands: a band of one tile would run untiled."""

from __future__ import annotations

from layertools.compat import db
from layertools.engine import evaluate
from layertools.engine.tiled import _bands, plan_tiles


def narrow_layout() -> "db.Layout":
    """10 µm wide, 83 µm tall: at 20 µm partitions one column of 5 tiles."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    a, b = layout.layer(1, 0), layout.layer(2, 0)
    for y in range(0, 84, 3):
        top.shapes(a).insert(db.DBox(0, y, 10, y + 2).to_itype(0.001))
        top.shapes(b).insert(db.DBox(1, y + 1, 9, y + 2.5).to_itype(0.001))
    return layout


def test_progress_bands_give_the_same_shapes_as_one_run():
    """With progress the tiles run in bands of rows; the last band must not be a lone tile
    (it gave 57 overlapping shapes instead of 31)."""
    counts = []
    for progress in (None, lambda message, fraction: None):
        layout = narrow_layout()
        result = evaluate(layout, None, "1/0 ^ 2/0", "100/0", strategy="tiled", partition=20, progress=progress)
        assert result.tiles == 5
        counts.append(result.shapes_written)
    assert counts[0] == counts[1] == 31


def test_no_band_is_a_single_tile():
    for nx, ny in ((1, 5), (1, 9), (3, 7), (2, 17)):
        plan = plan_tiles(db.Box(0, 0, nx * 20_000 - 1, ny * 20_000 - 1), 0.001, 20.0, 0.0)
        assert (plan.nx, plan.ny) == (nx, ny)
        for threads in (0, 1, 2, 4):
            bands = _bands(plan, threads)
            assert [row for r0, r1 in bands for row in range(r0, r1)] == list(range(ny))
            assert all((r1 - r0) * nx >= 2 for r0, r1 in bands)
