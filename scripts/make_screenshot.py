#!/usr/bin/env python3
"""Take the README / grain.xml screenshot in the real application (KLayout under Xvfb).

    python3 scripts/make_screenshot.py          # writes doc/screenshot.png and doc/screenshot-small.png
    python3 scripts/package.py sync             # then embed the small one into grain.xml

It loads samples/tt_um_obriensp_be8.gds.gz, evaluates "68/20 & 69/20" (met1 AND met2) into 100/0
through the Layer Expression dock, shows only the inputs and the result, and grabs the main window.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "gui"))

from harness import run_klayout  # noqa: E402

SCRIPT = r'''
import layertools.gui
mw = main_window()
view = mw.current_view()
layertools.gui.show_panel("memory")
layertools.gui.show_panel("expression")
dock = mw.findChild("layertools_expression_dock")
dock.setFloating(False)   # it first opens floating; the picture shows it docked, as users keep it
toolbox = mw.findChild("lt_dock_widget")
if toolbox is not None:
    mw.tabifyDockWidget(toolbox, dock)
dock.show()
dock.qt_raise()
layers_dock = mw.findChild("lp_dock_widget")
if layers_dock is not None:   # room for the whole panel (a user drags the splitter)
    layers_dock.setMaximumHeight(250)
dock.findChild("to_layer").text = "100/0"
dock.findChild("expression").setPlainText("68/20 & 69/20")
dock.findChild("evaluate").click()
process_events(0.5)
emit("status", dock.findChild("status").text)
keep = {"68/20", "69/20", "100/0"}
it = view.begin_layers()
while not it.at_end():
    node = it.current()
    source = node.source.split("@")[0]
    shown = source in keep
    if node.visible != shown:
        props = node.dup()
        props.visible = shown
        view.set_layer_properties(it, props)
    it.next()
view.zoom_box(pya.DBox(20, 20, 60, 50))
process_events(1.0)
save_screenshot("screenshot")
'''


def main() -> int:
    run = run_klayout(SCRIPT, layout=REPO / "samples" / "tt_um_obriensp_be8.gds.gz", name="make_screenshot",
                      window_size=(1400, 860), timeout=120)
    if run.rc != 0 or run.status != "ok":
        print(run.describe(), file=sys.stderr)
        return 1
    print("panel status:", run.result.get("status"))
    full = REPO / "doc" / "screenshot.png"
    small = REPO / "doc" / "screenshot-small.png"
    full.parent.mkdir(exist_ok=True)
    shutil.copyfile(run.artifacts_dir / "screenshot.png", full)
    subprocess.run(["convert", str(full), "-resize", "700x", "-strip", "-colors", "192", "PNG8:" + str(small)],
                   check=True)
    print(full, small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
