"""Issue 13 item 3: where the Layer Expression dock opens, and that the user's placement survives a
restart of the application with the same KLAYOUT_HOME (Debian's 0.28.5 under Xvfb)."""

from __future__ import annotations

from harness import REPO, make_home

FIRST = """
mw = main_window()
process_events(0.5)
mw.menu().action("tools_menu.layertools_menu.expression").trigger()   # what the user clicks
process_events(0.8)
dock = mw.findChild("layertools_expression_dock")
evaluate = dock.findChild("evaluate")
scroll = dock.findChild("layertools_expression_scroll")
bottom = evaluate.mapTo(scroll, pya.QPoint(0, evaluate.height)).y
emit("first", {"visible": dock.isVisible(), "floating": dock.isFloating(),
               "evaluate_shown": bottom <= scroll.viewport.height and evaluate.isVisible(),
               "height": dock.height, "hint": dock.sizeHint().height})
save_screenshot("first_placement", dock)
save_screenshot("first_placement_window")
# The user docks it on the left and makes it 430 px wide.
dock.setFloating(False)
mw.addDockWidget(pya.Qt.LeftDockWidgetArea, dock)
import sys; lt_install = sys.modules["layertools.gui.install"]
lt_install.resize_docked(dock, 430, None)   # as dragging the splitter would (no resizeDocks in 0.28.5)
process_events(0.8)
emit("chosen", {"area": mw.dockWidgetArea(dock).to_i(), "width": dock.width})
"""

SECOND = """
mw = main_window()
process_events(1.5)
dock = mw.findChild("layertools_expression_dock")
emit("second", {"visible": dock.isVisible(), "floating": dock.isFloating(),
                "area": mw.dockWidgetArea(dock).to_i(), "width": dock.width})
save_screenshot("second_start")
"""


def test_first_placement_fits_and_the_users_placement_survives_a_restart(klayout_gui, tmp_path):
    home = make_home(tmp_path / "home")
    layout = REPO / "samples" / "tt_um_obriensp_be8.gds.gz"
    one = klayout_gui(FIRST, layout=layout, home=home, timeout=120, name="placement_one",
                      keep_config=True)
    one.check()
    first = one.result["first"]
    assert first["visible"] and first["floating"], first
    assert first["evaluate_shown"], first          # not tabbed into the 145 px Layer Toolbox
    chosen = one.result["chosen"]
    assert chosen["area"] == 1 and 400 <= chosen["width"] <= 460, chosen   # Qt.LeftDockWidgetArea = 1

    two = klayout_gui(SECOND, layout=layout, home=home, timeout=120, name="placement_two",
                      keep_config=True)
    two.check()
    second = two.result["second"]
    assert second["visible"] and not second["floating"], second
    assert second["area"] == 1 and abs(second["width"] - chosen["width"]) <= 20, (second, chosen)
