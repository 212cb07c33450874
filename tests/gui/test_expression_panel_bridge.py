"""``layertools.gui.view_bridge`` on a real (headless) KLayout LayoutView from the PyPI module.

The module needs no Qt: a ``klayout.lay.LayoutView`` with its own ``db.Manager`` has a layer panel,
a selection and undo (klayout-platform.md §2), so the panel's view logic is tested here in
milliseconds; the GUI tests cover the same paths in the application.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (layouts.py)

db = pytest.importorskip("klayout.db")
lay = pytest.importorskip("klayout.lay")

from layertools import Cancelled  # noqa: E402
from layertools.gui import view_bridge as vb  # noqa: E402
from layouts import fixture_f2, layer_index  # noqa: E402


def _target(layout, top, tmp_path):
    """The layout loaded by the view (as in the application), its top cell current."""
    path = tmp_path / "fixture.oas"   # OASIS keeps the layer names (A, B, ...)
    layout.write(str(path))
    manager = db.Manager()   # without one, LayoutView.transaction crashes
    view = lay.LayoutView(True, manager)
    view.load_layout(str(path), True)
    cellview = view.active_cellview()
    cellview.cell = cellview.layout().cell(top.name)
    return vb.ViewCell(view, cellview, cellview.layout(), cellview.cell), manager


def _nodes(view):
    it = view.begin_layers()
    while not it.at_end():
        yield it.current()
        it.next()


def _entries(target, index):
    return [n for n in _nodes(target.view) if n.layer_index() == index and n.cellview() == target.cellview.index()]


def test_result_layer_entry_is_visible_coloured_and_one_undo_step(tmp_path):
    layout, top = fixture_f2()
    target, manager = _target(layout, top, tmp_path)
    used = {n.fill_color & 0xffffff for n in _nodes(target.view)}
    with vb.undo_step(target, "Layer Tools: NEW = A | B", True):
        index = target.layout.insert_layer(db.LayerInfo(100, 0, "NEW"))
        target.cell.shapes(index).insert(db.Box(0, 0, 1000, 1000))
        assert vb.show_result_layer(target, index) is True
    (node,) = _entries(target, index)
    assert node.visible and node.source_layer == 100 and node.source_datatype == 0 and node.source_name == "NEW"
    colour = node.fill_color & 0xffffff
    assert colour not in (0, 0xffffff) and colour not in used     # never black, unlike a bare entry
    assert vb.show_result_layer(target, index) is False            # no second entry for the same layer
    assert len(_entries(target, index)) == 1
    assert manager.transaction_for_undo() == "Layer Tools: NEW = A | B"
    manager.undo()
    assert _entries(target, index) == [] and not target.layout.is_valid_layer(index)
    manager.redo()
    assert len(_entries(target, index)) == 1 and target.cell.shapes(index).size() == 1


def test_hidden_entry_is_made_visible_not_duplicated(tmp_path):
    layout, top = fixture_f2()
    target, _ = _target(layout, top, tmp_path)
    index = layer_index(target.layout, "A")
    it = target.view.begin_layers()
    while not it.at_end():
        if it.current().layer_index() == index:
            it.current().visible = False
        it.next()
    assert vb.show_result_layer(target, index) is False
    (node,) = _entries(target, index)
    assert node.visible


def test_not_undoable_path_leaves_no_undo_step(tmp_path):
    layout, top = fixture_f2()
    target, manager = _target(layout, top, tmp_path)
    with vb.undo_step(target, "fast", False):
        target.cell.shapes(layer_index(target.layout, "A")).insert(db.Box(0, 0, 10, 10))
    assert not manager.has_undo()


def test_selection_regions_are_in_the_cell_coordinates(tmp_path):
    # F2: SUB (A (0,0)-(10,10), B (5,0)-(15,10)) placed at (20,20) in TOP; TOP has its own A (60,60)-(70,70).
    layout, top = fixture_f2()
    target, _ = _target(layout, top, tmp_path)
    layout, top = target.layout, target.cell
    a, b = layer_index(layout, "A"), layer_index(layout, "B")
    sub = layout.cell("SUB")
    instance = next(iter(top.each_inst()))
    # TOP's own A box, and SUB's B box through the instance.
    own = lay.ObjectInstPath()
    own.top, own.cv_index, own.layer = top.cell_index(), target.cellview.index(), a
    own.shape = next(iter(top.shapes(a).each()))
    deep = lay.ObjectInstPath()
    deep.top, deep.cv_index, deep.layer = top.cell_index(), target.cellview.index(), b
    deep.append_path(db.InstElement(instance))
    deep.shape = next(iter(sub.shapes(b).each()))
    target.view.select_object(own)
    target.view.select_object(deep)
    regions = vb.selection_regions(target)
    assert set(regions) == {a, b}
    um = 1000
    assert (regions[a] ^ db.Region(db.Box(60 * um, 60 * um, 70 * um, 70 * um))).is_empty()
    assert (regions[b] ^ db.Region(db.Box(25 * um, 20 * um, 35 * um, 30 * um))).is_empty()
    target.view.clear_selection()
    assert vb.selection_regions(target) == {}


def test_layer_choices_and_panel_names(tmp_path):
    layout, top = fixture_f2()
    target, _ = _target(layout, top, tmp_path)
    choices = vb.layer_choices(target)
    assert "A 2/0" in choices and "BND 1/0" in choices
    index = layer_index(target.layout, "B")
    it = target.view.begin_layers()
    while not it.at_end():
        if it.current().layer_index() == index:
            it.current().name = "poly_dg"
        it.next()
    assert vb.panel_layer_names(target)["poly_dg"] == index
    assert "poly_dg" in vb.layer_choices(target)


@given(used=st.sets(st.sampled_from(vb.RESULT_COLOURS + (0xffffff, 0x000000, 0x808080)), max_size=20),
       background=st.sampled_from([0xffffff, 0x000000, 0xf0f0f0, 0x202020]))
def test_result_colour_is_visible_on_the_background_and_new(used, background):
    colour = vb.distinct_colour(used, background)
    assert colour in vb.RESULT_COLOURS and colour not in (0xffffff, 0x000000)
    assert abs(vb._luminance(colour) - vb._luminance(background)) >= vb.MIN_BACKGROUND_CONTRAST
    unused = [c for c in vb.RESULT_COLOURS if c not in used
              and abs(vb._luminance(c) - vb._luminance(background)) >= vb.MIN_BACKGROUND_CONTRAST]
    if unused:
        assert colour not in used


def test_result_colours_on_white_and_black_are_not_the_background():
    # white was once a candidate, and the 4th result on a white view was invisible
    on_white = {vb.distinct_colour(set(vb.RESULT_COLOURS[:n]), 0xffffff) for n in range(len(vb.RESULT_COLOURS))}
    on_black = {vb.distinct_colour(set(vb.RESULT_COLOURS[:n]), 0x000000) for n in range(len(vb.RESULT_COLOURS))}
    assert 0xffe000 not in on_white and 0x2060ff not in on_black   # yellow on white, dark blue on black


def test_progress_adapter_cancels_at_the_next_report():
    progress = vb.KLayoutProgress("test")
    try:
        progress("tiles: rows 1-3 of 9", 0.1)
        progress("writing", None)
        progress.cancel()
        with pytest.raises(Cancelled):
            progress("tiles: rows 4-6 of 9", 0.4)
        assert progress.updates == 3
    finally:
        progress.close()
