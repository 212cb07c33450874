"""The GUI harness itself: results come back, failures fail fast and never hang."""

from __future__ import annotations

import struct

from conftest import data_file  # tests/conftest.py


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as stream:
        head = stream.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_script_results_and_screenshot_come_back(klayout_gui):
    layout = data_file("tt_um_obriensp_be8.gds.gz")
    run = klayout_gui("""
        mw = main_window()
        view = mw.current_view()
        cv = view.active_cellview()
        emit("version", pya.Application.instance().version())
        emit("top", cv.cell_name)
        emit("editable", cv.layout().is_editable())
        emit("layout_arg", LAYOUT)
        emit("params", PARAMS)
        emit("shapes", sum(cv.layout().cell(c).shapes(l).size()
                           for c in range(cv.layout().cells()) for l in cv.layout().layer_indexes()))
        view.zoom_fit()
        save_screenshot("main")
    """, layout=layout, params={"answer": 42}, timeout=120)
    run.check()
    assert run.result["version"].startswith("KLayout 0.")
    assert run.result["top"] == "tt_um_obriensp_be8"
    assert run.result["editable"] is True
    assert run.result["layout_arg"] == str(layout.resolve())
    assert run.result["params"] == {"answer": 42}
    # SOURCES.md: 61,435 shapes stored over the hierarchy (boxes, polygons, paths and texts).
    assert run.result["shapes"] == 61435
    width, height = _png_size(run.result["_screenshots"][0])
    assert width >= 800 and height >= 500


def test_exception_in_script_fails_fast_with_traceback(klayout_gui):
    run = klayout_gui("""
        emit("before", 1)
        assert 1 + 1 == 3, "arithmetic is broken"
    """, timeout=120)
    assert run.rc == 1 and not run.timed_out
    assert run.status == "exception"
    assert "arithmetic is broken" in run.result["_exception"]
    assert run.result["before"] == 1
    assert run.seconds < 60   # start-up plus a moment, far below the time-out (no hang)


def test_exception_in_qt_slot_ends_the_run_instead_of_hanging(klayout_gui):
    # Raised from the event loop (as a real click or timer would), KLayout shows a modal error dialog and
    # waits forever; the harness's watchdog notices the dialog and ends the run with rc 70.
    run = klayout_gui("""
        timer = pya.QTimer(main_window())
        timer.singleShot = True
        timer.interval = 0
        def explode():
            raise RuntimeError("slot exploded")
        timer.timeout(explode)
        timer.start()
        process_events(20)
        emit("survived", True)
    """, timeout=120)
    assert not run.timed_out, run.describe()
    assert run.rc == 70 and run.status == "modal", run.describe()
    assert "slot exploded" in " ".join(run.result["_modal"]["texts"])
    assert "survived" not in run.result
    assert run.seconds < 60   # the script itself would have waited 20 s more; the time-out is 120 s


def test_viewer_mode_and_exit_code(klayout_gui):
    layout = data_file("amd2901.gds.gz")
    run = klayout_gui("""
        emit("editable", main_window().current_view().active_cellview().layout().is_editable())
        raise SystemExit(3)
    """, layout=layout, editable=False, timeout=60)
    assert run.rc == 3, run.describe()
    assert run.result["editable"] is False


def test_hung_application_is_killed_and_its_stack_reported(klayout_gui):
    run = klayout_gui("""
        import time
        def stuck_here():
            time.sleep(120)
        stuck_here()
    """, timeout=25)
    assert run.timed_out, run.describe()
    assert run.status == "running"
    assert "stuck_here" in run.last_stack
    assert run.seconds < 60


def test_missing_klayout_skips_locally_and_fails_in_ci(monkeypatch):
    import pytest

    import harness
    monkeypatch.setattr(harness, "KLAYOUT", "/nonexistent/klayout")
    assert "not installed" in harness.klayout_missing()
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        harness.require_gui()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        harness.require_gui()
