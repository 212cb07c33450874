"""Run the real KLayout application (Debian's 0.28.5 GUI) on a test script and get its results back.

Usage from a test::

    from harness import run_klayout

    run = run_klayout('''
        mw = main_window()
        emit("docks", [d.objectName for d in mw.findChildren() if isinstance(d, pya.QDockWidget)])
        save_screenshot("main")
    ''', layout=some_gds)
    run.check()                      # AssertionError with rc, traceback and stderr tail if the script failed
    assert "layertools_expression_dock" in run.result["docks"]

What it does, and why (see ../shared/notes/klayout-platform.md §0):
- starts ``klayout -e|-ne -x -t -c <home>/klayoutrc [layout] -r <wrapper>`` under ``xvfb-run -a`` (or with
  ``QT_QPA_PLATFORM=offscreen``; pick with ``display=`` or ``LAYERTOOLS_GUI_DISPLAY``);
- uses a throw-away KLAYOUT_HOME whose klayoutrc hides the start-up tip dialogs (they are modal and block),
  with this checkout symlinked into ``salt/layertools`` so the autorun macro and ``python/`` load as for
  an installed package (``install="none"`` gives an empty home, e.g. for ``klayout -y`` tests);
- wraps the script so that ANY exception (an assert too) is caught, written to the result JSON, and the
  application exits with rc 1.  An uncaught exception in a ``-r`` script otherwise opens a modal dialog
  and the application hangs;
- a watchdog timer notices modal dialogs (KLayout shows one for an exception raised in a Qt slot, e.g. a
  button handler), records their text and ends the process with rc 70 instead of hanging;
- ``timeout -s KILL`` (plain SIGTERM does not end a blocked KLayout) plus a process-group kill as the last
  resort; on a time-out the Python stacks of the hung application (dumped every few seconds) are in
  ``run.hang_trace``, the latest in ``run.last_stack``.

The script runs in a namespace that provides: ``pya``, ``emit(key, value)``, ``save_screenshot(name,
widget=None)``, ``process_events(seconds)``, ``wait_until(predicate, timeout)``, ``main_window()``,
``ARTIFACTS`` (a directory for files), ``LAYOUT`` (the loaded file or None), ``PARAMS`` (the ``params=``
dict), ``REPO`` (the checkout).  ``emit`` writes the result file at once, so values emitted before a hang
or crash are still returned.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS_ROOT = REPO / "tests" / "_artifacts" / "gui"
# Homes must live OUTSIDE the checkout: a home inside it, holding a symlink to the checkout, is a loop
# that KLayout's package scan follows forever (seen: the application hung before the script ran).
HOMES_ROOT = Path(tempfile.gettempdir()) / f"layertools-gui-homes-{os.getuid()}"
KLAYOUT = os.environ.get("LAYERTOOLS_KLAYOUT", "klayout")

#: KLayout's start-up tips are modal dialogs that block a fresh configuration.
KLAYOUTRC = """<?xml version="1.0" encoding="utf-8"?>
<config>
 <full-hierarchy-new-cell>true</full-hierarchy-new-cell>
 <tip-window-hidden>only-top-level-shown-by-default=0,editor-mode=0,no-stipple=0,show-markers=0,hide-empty-layers=0</tip-window-hidden>
</config>
"""

#: rc of ``timeout -s KILL`` when it had to kill; rc the watchdog uses for a modal dialog.
RC_KILLED = 137
RC_MODAL = 70
RC_EXCEPTION = 1

_WRAPPER = r'''
import faulthandler, json, os, sys, time, traceback
import pya

_LT_RESULT = {result_path!r}
_LT_SCRIPT = {script_path!r}
_lt_data = {{"_status": "running"}}
_lt_hang_file = open({hang_path!r}, "w")
# Where a hang happens is the first thing one needs to know: dump the Python stacks every few seconds
# (the kill comes without warning, and start-up time on a loaded machine is unknown); the last dump
# in the file is the latest.
faulthandler.dump_traceback_later({hang_after!r}, repeat=True, exit=False, file=_lt_hang_file)


def _lt_flush():
    tmp = _LT_RESULT + ".tmp"
    with open(tmp, "w") as stream:
        json.dump(_lt_data, stream, indent=1, default=repr)
    os.replace(tmp, _LT_RESULT)


def emit(key, value):
    """Record a result value (anything JSON-serialisable; other objects are stored as repr)."""
    _lt_data[key] = value
    _lt_flush()


def main_window():
    return pya.Application.instance().main_window()


def process_events(seconds=0.2):
    end = time.time() + seconds
    while True:
        pya.QCoreApplication.processEvents()
        if time.time() >= end:
            break
        time.sleep(0.01)


def wait_until(predicate, timeout=10.0, step=0.05):
    """Process events until predicate() is true; returns its last value."""
    end = time.time() + timeout
    value = predicate()
    while not value and time.time() < end:
        pya.QCoreApplication.processEvents()
        time.sleep(step)
        value = predicate()
    return value


def save_screenshot(name, widget=None):
    """Save a PNG of the main window (or widget) into ARTIFACTS and return its path."""
    process_events(0.5)
    target = widget if widget is not None else main_window()
    path = os.path.join(ARTIFACTS, name if name.endswith(".png") else name + ".png")
    if not target.grab().save(path):
        raise RuntimeError("could not save screenshot " + path)
    _lt_data.setdefault("_screenshots", []).append(path)
    _lt_flush()
    return path


def _lt_widget_texts(widget, depth=0):
    # KLayout's "Script Error" dialog keeps the message in QLabel.text and QTextBrowser.toPlainText().
    # Children come back as *_Native classes, so probe attributes instead of testing types.
    texts = []
    for attr in ("windowTitle", "text"):
        try:
            value = getattr(widget, attr)
            if isinstance(value, str) and value.strip():
                texts.append(value.strip())
        except Exception:
            pass
    if type(widget).__name__.startswith(("QTextBrowser", "QTextEdit", "QPlainTextEdit")):
        try:
            texts.append(widget.toPlainText().strip())
        except Exception:
            pass
    if depth < 8:
        try:
            for child in widget.children():
                texts.extend(_lt_widget_texts(child, depth + 1))
        except Exception:
            pass
    return [text for i, text in enumerate(texts) if text and text not in texts[:i]]


def _lt_watch_modals():
    # Runs from a QTimer, i.e. inside whatever event loop is running (also a modal dialog's own loop).
    # It must never raise: an exception here would open yet another modal dialog.
    try:
        modal = pya.QApplication.activeModalWidget()
        if modal is None:
            return
        _lt_data["_status"] = "modal"
        _lt_data["_modal"] = {{"class": type(modal).__name__, "texts": _lt_widget_texts(modal)}}
        _lt_flush()
        sys.stderr.write("harness: modal dialog appeared, ending the run: %r\n" % (_lt_data["_modal"],))
        sys.stderr.flush()
    except Exception as exc:
        try:
            _lt_data["_status"] = "modal"
            _lt_data["_modal"] = {{"error": repr(exc)}}
            _lt_flush()
        except Exception:
            pass
    os._exit({rc_modal})


ARTIFACTS = {artifacts!r}
LAYOUT = {layout!r}
PARAMS = json.loads({params_json!r})
REPO = {repo!r}

_lt_rc = 0
_lt_flush()
try:
    if {window_size!r} and main_window() is not None:
        main_window().resize(*{window_size!r})
        process_events(0.2)
    if {watch_modals!r}:
        _lt_timer = pya.QTimer()
        _lt_timer.interval = 250
        _lt_timer.timeout(_lt_watch_modals)
        _lt_timer.start()
    _lt_ns = {{"__name__": "__layertools_gui_test__", "__file__": _LT_SCRIPT, "pya": pya, "emit": emit,
               "main_window": main_window, "process_events": process_events, "wait_until": wait_until,
               "save_screenshot": save_screenshot, "ARTIFACTS": ARTIFACTS, "LAYOUT": LAYOUT,
               "PARAMS": PARAMS, "REPO": REPO}}
    with open(_LT_SCRIPT) as _lt_stream:
        _lt_code = compile(_lt_stream.read(), _LT_SCRIPT, "exec")
    exec(_lt_code, _lt_ns)
    _lt_data["_status"] = "ok"
except SystemExit as _lt_exit:
    _lt_rc = _lt_exit.code if isinstance(_lt_exit.code, int) else (0 if _lt_exit.code is None else 1)
    _lt_data["_status"] = "ok" if _lt_rc == 0 else "exit"
except BaseException:
    _lt_rc = {rc_exception}
    _lt_data["_status"] = "exception"
    _lt_data["_exception"] = traceback.format_exc()
    try:
        sys.stderr.write(_lt_data["_exception"])
    except Exception:
        pass
try:
    faulthandler.cancel_dump_traceback_later()
    _lt_data["_rc"] = _lt_rc
    _lt_flush()
finally:
    pya.Application.instance().exit(_lt_rc)
'''


@dataclass
class KlayoutRun:
    """The outcome of one application run."""

    rc: int
    stdout: str
    stderr: str
    result: dict[str, Any]
    artifacts_dir: Path
    command: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hang_trace: str = ""
    home: Path | None = None

    @property
    def timed_out(self) -> bool:
        return self.rc in (RC_KILLED, -signal.SIGKILL)

    @property
    def last_stack(self) -> str:
        """The latest of the periodic stack dumps in ``hang_trace`` (where a hung run was stuck)."""
        marker = "Timeout ("
        start = self.hang_trace.rfind(marker)
        return self.hang_trace[start:] if start >= 0 else self.hang_trace

    @property
    def status(self) -> str:
        """ok, exception, exit, modal, running (it never finished) or missing (no result file)."""
        return self.result.get("_status", "missing")

    def describe(self) -> str:
        parts = [f"klayout rc={self.rc} status={self.status} in {self.seconds:.1f} s",
                 "command: " + " ".join(self.command)]
        if self.timed_out:
            parts.append("TIMED OUT (killed). Latest Python stacks of the hung application:\n"
                         + self.last_stack)
        if "_exception" in self.result:
            parts.append("exception in the test script:\n" + self.result["_exception"])
        if "_modal" in self.result:
            parts.append(f"a modal dialog appeared: {self.result['_modal']}")
        parts.append("stderr (tail):\n" + _tail(self.stderr, 40))
        parts.append("stdout (tail):\n" + _tail(self.stdout, 20))
        parts.append(f"artifacts: {self.artifacts_dir}")
        parts.append(f"KLAYOUT_HOME: {self.home}")
        return "\n".join(parts)

    def check(self) -> "KlayoutRun":
        """Fail the test with everything needed to diagnose it unless the script ran to its end."""
        if self.rc != 0 or self.status != "ok":
            raise AssertionError(self.describe())
        return self


def _load_tests_conftest():
    # tests/conftest.py and tests/gui/conftest.py are both "conftest" for Python; load the former by path.
    spec = importlib.util.spec_from_file_location("_layertools_tests_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TESTS_CONFTEST = _load_tests_conftest()
#: ``data_file(name)``: a real layout from ../shared/data (skips, or fails in CI, when it is missing).
data_file = TESTS_CONFTEST.data_file


def klayout_missing() -> str | None:
    """Why GUI tests cannot run here, or None when they can."""
    if shutil.which(KLAYOUT) is None:
        return f"the KLayout application ({KLAYOUT}) is not installed"
    if shutil.which("timeout") is None:
        return "coreutils' timeout is not installed"
    if _display() == "xvfb" and (shutil.which("xvfb-run") is None or shutil.which("xauth") is None):
        return "xvfb-run/xauth are not installed (or set LAYERTOOLS_GUI_DISPLAY=offscreen)"
    return None


def require_gui() -> None:
    """Skip the calling test when KLayout or Xvfb is missing; fail instead when running in CI."""
    reason = klayout_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"GUI test cannot run in CI: {reason}")
        pytest.skip(reason)


def make_home(home: Path | str, install: str = "symlink", package_dir: Path | str = REPO) -> Path:
    """A KLAYOUT_HOME with the test klayoutrc; ``install`` is ``symlink`` (this checkout) or ``none``."""
    home = Path(home)
    (home / "salt").mkdir(parents=True, exist_ok=True)
    rc = home / "klayoutrc"
    if not rc.exists():
        rc.write_text(KLAYOUTRC)
    if install == "symlink":
        link = home / "salt" / "layertools"
        if not link.exists() and not link.is_symlink():
            link.symlink_to(Path(package_dir).resolve(), target_is_directory=True)
    elif install != "none":
        raise ValueError(f"install must be 'symlink' or 'none', not {install!r}")
    return home


def klayout_env(home: Path | str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a KLayout child: isolated home, no index download, no foreign Python paths."""
    env = dict(os.environ)
    # The application embeds its own Python 3.11; a PYTHONPATH/PYTHONHOME meant for pyenv would mix
    # site-packages of two interpreters.  KLAYOUT_PATH would add the user's packages.
    for name in ("PYTHONPATH", "PYTHONHOME", "KLAYOUT_PATH", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    env["KLAYOUT_HOME"] = str(home)
    env["KLAYOUT_SALT_MINE"] = ""          # -y would otherwise fetch the online index and fail offline
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # keep __pycache__ out of installed package folders
    env["PYTHONFAULTHANDLER"] = "1"
    if not env.get("XDG_RUNTIME_DIR"):  # Qt wants a private (0700) runtime directory, else it warns
        runtime = HOMES_ROOT / "xdg-runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    if extra:
        env.update(extra)
    return env


def run_klayout(script: str | os.PathLike, *, layout: str | os.PathLike | None = None, editable: bool = True,
                timeout: float = 180, home: str | os.PathLike | None = None, install: str = "symlink",
                extra_args: Sequence[str] = (), params: Mapping[str, Any] | None = None,
                name: str | None = None, display: str | None = None, watch_modals: bool = True,
                window_size: tuple[int, int] | None = (1400, 900), keep_config: bool = False,
                env: Mapping[str, str] | None = None) -> KlayoutRun:
    """Run ``script`` (Python text or a file path) with ``klayout -r`` in the real application.

    ``home``: a KLAYOUT_HOME to use (it gets the test klayoutrc if it has none; nothing is installed into
    it unless ``install="symlink"`` and it has no ``salt/layertools``); by default a fresh one in the
    artifacts directory with this checkout symlinked in.  ``layout``: a file to load (``-e`` editable or
    ``-ne`` viewer mode).  ``params``: JSON-serialisable values the script sees as ``PARAMS``.
    ``watch_modals=False`` for a script that drives a modal dialog itself.  ``window_size``: the main
    window is resized to it before the script starts (screenshots with room for docks), None keeps it.
    ``keep_config=True`` leaves out ``-t``: KLayout writes the home's klayoutrc on exit (for tests of
    what a second session with the same home sees).
    """
    artifacts = _artifacts_dir(name)
    if home is None:
        home = HOMES_ROOT / artifacts.name
        shutil.rmtree(home, ignore_errors=True)
        home = make_home(home, install)
    else:
        home = make_home(home, install)

    script_path = artifacts / "gui_script.py"  # not test_*.py: pytest would collect it
    if isinstance(script, os.PathLike) or (isinstance(script, str) and "\n" not in script
                                           and script.endswith(".py") and os.path.isfile(script)):
        shutil.copyfile(script, script_path)
    else:
        script_path.write_text(textwrap.dedent(str(script)).strip() + "\n")

    result_path = artifacts / "result.json"
    hang_path = artifacts / "hang_trace.txt"
    wrapper_path = artifacts / "_wrapper.py"
    wrapper_path.write_text(_WRAPPER.format(
        result_path=str(result_path), script_path=str(script_path), hang_path=str(hang_path),
        hang_after=min(10.0, max(2.0, float(timeout) / 6.0)), artifacts=str(artifacts),
        layout=None if layout is None else str(Path(layout).resolve()),
        params_json=json.dumps(dict(params or {})), repo=str(REPO), watch_modals=bool(watch_modals),
        rc_modal=RC_MODAL, rc_exception=RC_EXCEPTION,
        window_size=None if window_size is None else tuple(int(v) for v in window_size)))

    app = [KLAYOUT, "-e" if editable else "-ne", "-x", *([] if keep_config else ["-t"]),
           "-c", str(Path(home) / "klayoutrc"),
           *extra_args]
    if layout is not None:
        app.append(str(Path(layout).resolve()))
    app += ["-r", str(wrapper_path)]
    # timeout goes right in front of klayout (inside xvfb-run) so that xvfb-run still cleans up its server.
    inner = ["timeout", "-s", "KILL", str(int(timeout)), *app]

    mode = display or _display()
    extra_env = dict(env or {})
    if mode == "offscreen":
        command = inner
        extra_env.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif mode == "xvfb":
        command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *inner]
    else:
        raise ValueError(f"display must be 'xvfb' or 'offscreen', not {mode!r}")

    started = time.monotonic()
    for attempt in range(3):
        rc, stdout, stderr = _run(command, klayout_env(home, extra_env), timeout + 30, cwd=artifacts)
        # Several xvfb-run -a started at the same moment can race for a display number.
        if not (mode == "xvfb" and rc != 0 and "Xvfb failed to start" in stderr and attempt < 2):
            break
        time.sleep(1 + attempt)
    seconds = time.monotonic() - started

    (artifacts / "stdout.txt").write_text(stdout)
    (artifacts / "stderr.txt").write_text(stderr)
    result: dict[str, Any] = {}
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except ValueError:
            result = {"_status": "corrupt", "_raw": result_path.read_text()[:2000]}
    hang = hang_path.read_text() if hang_path.exists() else ""
    return KlayoutRun(rc=rc, stdout=stdout, stderr=stderr, result=result, artifacts_dir=artifacts,
                      command=command, seconds=seconds, hang_trace=hang, home=Path(home))


def run_batch(args: Iterable[str], *, home: str | os.PathLike, timeout: float = 120,
              env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None
              ) -> subprocess.CompletedProcess:
    """Run ``klayout <args>`` without a display (``-zz``/``-b``/``-y`` jobs) under ``timeout -s KILL``."""
    command = ["timeout", "-s", "KILL", str(int(timeout)), KLAYOUT, *args]
    rc, stdout, stderr = _run(command, klayout_env(home, env), timeout + 30, cwd=cwd)
    return subprocess.CompletedProcess(command, rc, stdout, stderr)


def _run(command: list[str], env: dict[str, str], timeout: float, cwd=None) -> tuple[int, str, str]:
    # A new session lets us kill xvfb-run, Xvfb and klayout together if even `timeout` fails us.
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return RC_KILLED, _text(out), _text(err) + "\nharness: killed the process group after the time-out\n"
    return proc.returncode, _text(out), _text(err)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def _display() -> str:
    return os.environ.get("LAYERTOOLS_GUI_DISPLAY", "xvfb")


def _artifacts_dir(name: str | None) -> Path:
    if name is None:
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        if current:
            node = current.split(" ")[0]
            name = Path(node.split("::")[0]).stem + "-" + node.split("::")[-1]
        else:
            name = time.strftime("run-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"
    path = ARTIFACTS_ROOT / safe
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
