"""Install layertools the way users do (``klayout -y``), start the real application, upgrade, uninstall.

Everything happens in a throw-away KLAYOUT_HOME with Debian's KLayout 0.28.5, offline
(``KLAYOUT_SALT_MINE=``).  The packages are staged copies built by scripts/package.py, never the
checkout itself (``-y`` on a checkout would copy .git and the tests).

The tests share one home and run in file order: install -> GUI -> batch -> upgrade -> reinstall ->
uninstall.  Each one checks its own starting point, so a failure says where the chain broke.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import package  # scripts/package.py: pyproject.toml's pytest pythonpath puts scripts/ on the path
from harness import data_file, make_home, require_gui, run_batch, run_klayout

OLD_ONLY = ("python/layertools/_only_in_old_version.py", "pymacros/old_helper.py")


def _bumped(version: str) -> str:
    parts = [int(p) for p in version.split(".")]
    parts[-1] += 1
    return ".".join(map(str, parts))


def _manifest(folder: Path) -> set[str]:
    return set((folder / "MANIFEST.txt").read_text().split())


def _installed_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _grain_version(folder: Path) -> str:
    return ET.parse(folder / "grain.xml").getroot().find("version").text


@pytest.fixture(scope="module")
def salt(tmp_path_factory):
    """Two staged versions (the old one ships two extra files) and an empty KLAYOUT_HOME."""
    require_gui()
    base = tmp_path_factory.mktemp("salt")
    old_version = package.read_version()
    new_version = _bumped(old_version)
    old = package.stage(base / "old", version=old_version)
    for rel in OLD_ONLY:  # a module and a macro that the next version drops
        path = old / rel
        path.write_text('"""shipped only by the old version"""\nVALUE = 1\n')
    (old / "MANIFEST.txt").write_text("\n".join(sorted(_manifest(old) | set(OLD_ONLY))) + "\n")
    new = package.stage(base / "new", version=new_version)
    home = make_home(base / "home", install="none")
    return {"old": old, "new": new, "home": home, "installed": home / "salt" / "layertools",
            "old_version": old_version, "new_version": new_version, "base": base}


def _batch_check(salt, name: str, mode: str = "-zz") -> dict:
    """Run a short script in batch mode with the installed package; returns what it found."""
    out = salt["base"] / f"{name}.json"
    script = salt["base"] / f"{name}.py"
    script.write_text(f'''
import json, os, sys
found = {{}}
try:
    import layertools, layertools.gui
    found["file"] = layertools.__file__
    found["version"] = layertools.__version__
    found["environment"] = layertools.gui.environment()
    found["report"] = layertools.gui.install().as_dict()
    try:
        import layertools._only_in_old_version
        found["stale_module_imports"] = True
    except ImportError:
        found["stale_module_imports"] = False
except ImportError as exc:
    found["import_error"] = str(exc)
except Exception as exc:
    found["error"] = repr(exc)
with open({str(out)!r}, "w") as stream:
    json.dump(found, stream)
''')
    proc = run_batch([mode, "-t", "-r", str(script)], home=salt["home"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def test_install_copies_exactly_the_package(salt):
    proc = run_batch(["-zz", "-y", str(salt["old"])], home=salt["home"], timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Package 'layertools' installed" in proc.stdout + proc.stderr
    installed = salt["installed"]
    assert installed.is_dir() and not installed.is_symlink()
    assert _installed_files(installed) == _manifest(salt["old"])
    grain = ET.parse(installed / "grain.xml").getroot()
    assert grain.find("version").text == salt["old_version"]
    assert grain.find("installed-time") is not None and grain.find("installed-time").text  # set by -y
    assert (installed / grain.find("doc-url").text).is_file()


GUI_CHECK = r'''
import layertools, layertools.gui
from layertools.gui.install import PANELS, log_path

mw = main_window()
menu = mw.menu()
emit("file", layertools.__file__)
emit("version", layertools.__version__)
emit("environment", layertools.gui.environment())
has_menu = menu.is_valid("tools_menu.layertools_menu")
emit("menu_title", menu.action("tools_menu.layertools_menu").title if has_menu else None)
emit("menu", menu.items("tools_menu.layertools_menu") if has_menu else [])
emit("menu_titles", [menu.action(p).title for p in menu.items("tools_menu.layertools_menu")] if has_menu else [])
emit("toolbar", [p for p in menu.items("@toolbar") if "layertools" in p])

def tool_buttons(widget, found, depth=0):
    for child in widget.children():
        if type(child).__name__.startswith("QToolButton"):
            found.append(child)
        elif depth < 4:
            tool_buttons(child, found, depth + 1)
    return found

buttons = {b.toolTip.split(" (")[0].split(":")[0]: [not b.icon.isNull(), b.text.strip()]
           for b in tool_buttons(mw, []) if b.toolTip.startswith(("Layer Expression", "Memory Report"))}
emit("toolbar_buttons_with_icons", buttons)

emit("docks_initially_visible", {s.key: mw.findChild(s.object_name) is not None
                                        and mw.findChild(s.object_name).isVisible() for s in PANELS})
emit("docks_exist", {s.key: mw.findChild(s.object_name) is not None for s in PANELS})
menu.action("tools_menu.layertools_menu.expression").trigger()
process_events(0.3)
expression_visible = mw.findChild("layertools_expression_dock").isVisible()
menu.action("@toolbar.layertools_memory").trigger()
process_events(0.5)
emit("shown_by_actions", {"expression": expression_visible,
                          "memory": mw.findChild("layertools_memory_dock").isVisible()})

# An evaluation on the loaded layout, checked against a plain KLayout Region AND.
view = mw.current_view()
cv = view.active_cellview()
layout, top = cv.layout(), cv.cell
def flat(layer, datatype):
    index = layout.find_layer(layer, datatype)
    region = pya.Region()
    if index is not None:
        region.insert(top.begin_shapes_rec(index))
    return region
expected = flat(68, 20) & flat(69, 20)
result = layertools.evaluate(layout, top, "68/20 & 69/20", to="100/0")
got = flat(100, 0)
emit("evaluation", {"shapes_written": result.shapes_written, "expected_area": expected.area(),
                    "got_area": got.area(), "xor_count": (got ^ expected).count(),
                    "summary": result.summary()})

# A second install() (an autorun macro run twice, a module reload) must not duplicate anything.
again = layertools.gui.install()
emit("second_install", again.as_dict())
emit("menu_after_second", menu.items("tools_menu.layertools_menu"))
emit("toolbar_after_second", [p for p in menu.items("@toolbar") if "layertools" in p])
emit("dock_count", sum(1 for c in mw.children() if getattr(c, "objectName", "") in
                       ("layertools_expression_dock", "layertools_memory_dock")))
view.zoom_fit()
save_screenshot("installed")
import os
emit("log", open(log_path()).read() if os.path.exists(log_path()) else "")
emit("log_path", log_path())
'''


def test_installed_package_starts_in_the_gui_and_evaluates(salt):
    if not salt["installed"].is_dir():
        pytest.fail("the package is not installed (the install test failed)")
    run = run_klayout(GUI_CHECK, home=salt["home"], install="none",
                      layout=data_file("tt_um_obriensp_be8.gds.gz"), timeout=150)
    run.check()
    r = run.result
    assert Path(r["file"]).resolve().is_relative_to(salt["installed"].resolve()), r["file"]
    assert r["version"] == _grain_version(salt["installed"])
    assert r["environment"] == "gui"
    assert r["menu_title"] == "Layer Tools"
    assert r["menu"] == ["tools_menu.layertools_menu.expression", "tools_menu.layertools_menu.memory"]
    assert r["menu_titles"] == ["Layer Expression", "Memory Report"]
    assert r["toolbar"] == ["@toolbar.layertools_separator", "@toolbar.layertools_expression",
                            "@toolbar.layertools_memory"]
    # Icons; the expression button is icon-only (compact: the toolbar end is cut off in editor mode).
    assert r["toolbar_buttons_with_icons"] == {"Layer Expression": [True, ""], "Memory Report": [True, "Memory"]}
    assert r["docks_exist"] == {"expression": True, "memory": True}
    assert r["docks_initially_visible"] == {"expression": False, "memory": False}
    assert r["shown_by_actions"] == {"expression": True, "memory": True}
    ev = r["evaluation"]
    assert ev["expected_area"] > 0 and ev["got_area"] == ev["expected_area"] and ev["xor_count"] == 0
    assert ev["shapes_written"] > 0
    second = r["second_install"]
    assert second["installed"] and not second["errors"]
    assert sorted(second["reused_docks"]) == ["expression", "memory"]
    assert r["menu_after_second"] == r["menu"] and r["toolbar_after_second"] == r["toolbar"]
    assert r["dock_count"] == 2
    assert Path(r["log_path"]) == salt["home"] / "layertools.log"
    assert "ERROR" not in r["log"], r["log"]
    assert "installed" in r["log"]


def test_batch_modes_do_nothing_and_log_nothing(salt):
    if not salt["installed"].is_dir():
        pytest.fail("the package is not installed (the install test failed)")
    log = salt["home"] / "layertools.log"
    before = log.read_text() if log.exists() else ""
    for mode in ("-zz", "-b"):  # -zz runs the autorun macros, -b does not
        found = _batch_check(salt, f"batch{mode}", mode)
        assert "import_error" not in found and "error" not in found, found
        assert found["environment"] == "batch"
        assert found["report"]["installed"] is False and found["report"]["errors"] == []
        assert Path(found["file"]).resolve().is_relative_to(salt["installed"].resolve())
    after = log.read_text() if log.exists() else ""
    assert "ERROR" not in after[len(before):]


def test_upgrade_leaves_no_stale_files(salt):
    installed = salt["installed"]
    assert _grain_version(installed) == salt["old_version"], "start from the old version"
    assert all((installed / rel).is_file() for rel in OLD_ONLY)
    # Python caches of the old version, as a normal run (without PYTHONDONTWRITEBYTECODE) leaves them
    cache = installed / "python" / "layertools" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "_only_in_old_version.cpython-311.pyc").write_bytes(b"stale")

    proc = run_batch(["-zz", "-y", str(salt["new"])], home=salt["home"], timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "Package 'layertools' installed" in output
    assert "removed 3 stale file(s)" in output, output
    assert _grain_version(installed) == salt["new_version"]
    assert _installed_files(installed) == _manifest(salt["new"])
    found = _batch_check(salt, "after_upgrade")
    assert found["version"] == salt["new_version"]
    assert found["stale_module_imports"] is False


def test_same_version_reinstall_is_a_silent_no_op(salt):
    # KLayout's rule (measured): documented in doc/packaging.md, the reason every release bumps.
    installed = salt["installed"]
    assert _grain_version(installed) == salt["new_version"], "start from the upgraded version"
    marker = installed / "doc" / "readme.html"
    marker.write_text("changed locally")
    proc = run_batch(["-zz", "-y", str(salt["new"])], home=salt["home"], timeout=90)
    assert proc.returncode == 0
    assert "installed" not in proc.stdout + proc.stderr
    assert marker.read_text() == "changed locally"
    shutil.copyfile(salt["new"] / "doc" / "readme.html", marker)


NO_PACKAGE_CHECK = r'''
menu = main_window().menu()
emit("menu", menu.is_valid("tools_menu.layertools_menu"))
emit("toolbar", [p for p in menu.items("@toolbar") if "layertools" in p])
emit("docks", [n for n in ("layertools_expression_dock", "layertools_memory_dock") if main_window().findChild(n)])
try:
    import layertools
    emit("importable", layertools.__file__)
except ImportError:
    emit("importable", False)
'''


# Drives Tools > Manage Packages: "Current Packages" tab, select layertools, "Remove Package", "Yes".
# The dialogs are modal, so timers do the clicking from inside their event loops.
UNINSTALL_WITH_PACKAGE_MANAGER = r'''
import os

def children_of(widget, prefixes, depth=0, found=None):
    found = [] if found is None else found
    for child in widget.children():
        if type(child).__name__.startswith(prefixes):
            found.append(child)
        if depth < 10:
            children_of(child, prefixes, depth + 1, found)
    return found

def confirm():
    try:
        box = pya.QApplication.activeModalWidget()
        emit("question", [b.text for b in [box] + children_of(box, ("QLabel",)) if b.text])
        for button in children_of(box, ("QPushButton", "QAbstractButton")):
            if button.text.replace("&", "") == "Yes":
                button.click()
                return
        box.reject()
    except Exception as exc:
        emit("confirm_error", repr(exc))
        os._exit(6)

def manage():
    try:
        dialog = pya.QApplication.activeModalWidget()
        emit("dialog", dialog.windowTitle)
        children_of(dialog, ("QTabWidget",))[0].currentIndex = 2          # Current Packages
        process_events(0.3)
        view = [c for c in children_of(dialog, ("QListView",)) if c.objectName == "salt_view"][0]
        names = [view.model.data(view.model.index(row, 0), 0) for row in range(view.model.rowCount())]
        emit("listed", [str(n) for n in names])
        view.setCurrentIndex(view.model.index(0, 0))
        process_events(0.3)
        remove = [b for b in children_of(dialog, ("QPushButton", "QToolButton")) if "Remove" in b.text][0]
        timer = pya.QTimer(dialog)
        timer.singleShot = True
        timer.interval = 1000
        timer.timeout(confirm)
        timer.start()
        remove.click()
        process_events(0.5)
        dialog.reject()
    except Exception as exc:
        emit("manage_error", repr(exc))
        os._exit(5)

timer = pya.QTimer(main_window())
timer.singleShot = True
timer.interval = 2000
timer.timeout(manage)
timer.start()
main_window().menu().action("tools_menu.packages").trigger()
emit("folder_exists_after", os.path.exists(PARAMS["folder"]))
'''



def test_uninstall_with_the_package_manager_removes_everything(salt):
    installed = salt["installed"]
    assert installed.is_dir(), "start from an installed package"
    run = run_klayout(UNINSTALL_WITH_PACKAGE_MANAGER, home=salt["home"], install="none", timeout=120,
                      watch_modals=False, params={"folder": str(installed)}, name="uninstall-package-manager")
    run.check()
    assert run.result["dialog"] == "Salt Package Manager"
    assert any("layertools" in name for name in run.result["listed"])
    assert run.result["question"] == ["Are you sure to delete package 'layertools'?"] * len(run.result["question"])
    assert run.result["folder_exists_after"] is False
    assert not installed.exists()

    after = run_klayout(NO_PACKAGE_CHECK, home=salt["home"], install="none", timeout=90, name="uninstall-after")
    after.check()
    r = after.result
    assert (r["menu"], r["toolbar"], r["docks"], r["importable"]) == (False, [], [], False)
