# Second session with the same KLAYOUT_HOME: the registers and settings of session_one.py are back.
import os
import sys

sys.path.insert(0, os.path.join(os.environ["LT_PANEL_REPO"], "tests", "gui", "expression_panel_scripts"))
import panel_common as pc  # noqa: E402


def session(mw, dock, data: dict) -> None:
    data["registers"] = dock.registers()
    data["recall3"] = dock.recall_register(3)
    data["expression_after_recall"] = dock.expression_text()
    data["recall6"] = dock.recall_register(6)
    data["to_layer"] = dock.findChild("to_layer").text
    data["threads"] = dock.findChild("threads").value
    # No layout is open in this session: Evaluate says so and does nothing.
    dock.set_expression("68/20")
    dock.findChild("evaluate").click()
    data["no_layout_status"] = dock.status_text()
    data["no_layout_result"] = dock.last_result
    # The package's menu entry and toolbar button show the dock.
    menu = mw.menu()
    data["menu_valid"] = menu.is_valid("tools_menu.layertools_menu.expression")
    data["toolbar_valid"] = menu.is_valid("@toolbar.layertools_expression")
    dock.hide()
    if data["menu_valid"]:
        menu.action("tools_menu.layertools_menu.expression").trigger()
    data["visible_after_menu"] = dock.isVisible()


pc.run_session(session)
