"""install() in the real application (checkout linked into the home): broken panels, uninstall, re-install.

The normal path (menus, toolbar, docks, evaluation on an installed package) is test_install_salt.py;
this file covers what must not go wrong when a panel is broken: the application keeps working, the
other panel and all menu entries stay, no modal dialog appears (the harness's watchdog would end the
run with rc 70), and the reason is logged.
"""

from __future__ import annotations

SCRIPT = r'''
import dataclasses, sys, types
import layertools.gui
inst = sys.modules["layertools.gui.install"]
mw = main_window()
menu = mw.menu()

def state():
    process_events(0.3)   # deleteLater() of removed docks happens in the event loop
    return {"menu": menu.items(inst.MENU_PATH) if menu.is_valid(inst.MENU_PATH) else None,
            "toolbar": [p for p in menu.items("@toolbar") if "layertools" in p],
            "docks": sorted(s.key for s in inst.PANELS if mw.findChild(s.object_name) is not None)}

emit("autorun_state", state())
layertools.gui.uninstall()
emit("after_uninstall", state())

# One panel whose constructor raises, one whose class does not exist.
broken = types.ModuleType("layertools_test_broken_panel")
class ExplodingDock(pya.QDockWidget):
    def __init__(self, parent):
        super().__init__("exploding", parent)
        raise RuntimeError("constructor exploded")
broken.ExplodingDock = ExplodingDock
sys.modules["layertools_test_broken_panel"] = broken
original = inst.PANELS
inst.PANELS = (dataclasses.replace(original[0], module="layertools_test_broken_panel", class_name="ExplodingDock"),
               dataclasses.replace(original[1], class_name="NoSuchDock"))
try:
    report = layertools.gui.install()
    emit("broken_report", report.as_dict())
    emit("broken_state", state())
    emit("show_broken", layertools.gui.show_panel("memory"))
    menu.action("@toolbar.layertools_expression").trigger()   # handler must swallow the failure
    menu.action("tools_menu.layertools_menu.memory").trigger()
    process_events(1.0)
    emit("still_running", True)
finally:
    inst.PANELS = original

layertools.gui.uninstall()
process_events(0.3)
recovered = layertools.gui.install()
emit("recovered_report", recovered.as_dict())
emit("recovered_state", state())
emit("show_recovered", layertools.gui.show_panel("memory"))
emit("memory_visible", mw.findChild("layertools_memory_dock").isVisible())
emit("log", open(inst.log_path()).read())
'''


def test_broken_panels_cost_only_themselves_and_recover(klayout_gui):
    run = klayout_gui(SCRIPT, timeout=120)
    run.check()   # rc 70 here would mean a modal error dialog appeared
    r = run.result
    full_menu = ["tools_menu.layertools_menu.expression", "tools_menu.layertools_menu.memory"]
    full_toolbar = ["@toolbar.layertools_separator", "@toolbar.layertools_expression", "@toolbar.layertools_memory"]
    assert r["autorun_state"] == {"menu": full_menu, "toolbar": full_toolbar, "docks": ["expression", "memory"]}
    assert r["after_uninstall"] == {"menu": None, "toolbar": [], "docks": []}

    broken = r["broken_report"]
    assert broken["installed"] is True           # the menu is there even though both panels are broken
    assert broken["docks"] == {}
    assert any("constructor exploded" in e for e in broken["errors"])
    assert any("NoSuchDock" in e for e in broken["errors"])
    assert r["broken_state"] == {"menu": full_menu, "toolbar": full_toolbar, "docks": []}
    assert r["show_broken"] is False
    assert r["still_running"] is True

    assert r["recovered_report"]["errors"] == []
    assert r["recovered_state"] == {"menu": full_menu, "toolbar": full_toolbar, "docks": ["expression", "memory"]}
    assert r["show_recovered"] is True and r["memory_visible"] is True
    assert "constructor exploded" in r["log"] and "NoSuchDock" in r["log"]


def test_autorun_installs_nothing_in_batch_mode(tmp_path, klayout_gui):
    # -zz runs the autorun macros without a main window; they must neither fail nor log errors.
    from harness import make_home, run_batch
    home = make_home(tmp_path / "home")
    out = tmp_path / "out.txt"
    script = tmp_path / "check.py"
    script.write_text(f"""
import layertools.gui
report = layertools.gui.install()
open({str(out)!r}, "w").write(layertools.gui.environment() + " " + str(report.installed))
""")
    proc = run_batch(["-zz", "-t", "-r", str(script)], home=home, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "batch False"
    log = home / "layertools.log"
    assert not log.exists() or "ERROR" not in log.read_text()
    assert "ERROR" not in proc.stderr
