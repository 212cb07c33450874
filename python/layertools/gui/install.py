"""Put layertools into the KLayout main window: two docks, a "Layer Tools" submenu, toolbar buttons.

Called by the autorun macro at every start of the application.  Rules it keeps:

- It runs only in the GUI (``layertools.environment.environment()``); in batch mode and standalone it does
  nothing.
- It is idempotent: a second call (a re-run autorun macro, a reloaded module) reuses the docks it
  finds by object name and replaces its menu items instead of adding duplicates.
- It never raises.  KLayout swallows exceptions of autorun macros (nothing is printed in ``-zz``
  mode), and an exception in a menu handler opens a modal dialog, so every failure is logged to
  ``<KLAYOUT_HOME>/layertools.log`` and to KLayout's log (stderr and the log viewer) instead.
- The docks are built by their own modules, imported lazily: a panel that fails to import or to
  construct costs only its own menu entry (shown disabled, with the reason in its tool tip).
"""

from __future__ import annotations

import importlib
import logging
import logging.handlers
import os
from dataclasses import asdict, dataclass, field

from .. import ICON_DIR
from .._version import __version__
from ..environment import GUI, environment

LOGGER_NAME = "layertools"
MENU_NAME = "layertools_menu"
MENU_PATH = "tools_menu." + MENU_NAME
MENU_TITLE = "Layer Tools"
TOOLBAR_SEPARATOR = "layertools_separator"
MIN_KLAYOUT = (0, 28)
PLACEMENT_CONFIG_PREFIX = "layertools-dock-placement-"   # KLayout configuration key per dock


@dataclass(frozen=True)
class PanelSpec:
    """One dock and the menu entry and toolbar button that show it."""

    key: str            # menu item name: tools_menu.layertools_menu.<key>, @toolbar.layertools_<key>
    module: str
    class_name: str
    object_name: str    # the dock's objectName (doc/decisions.md I5)
    title: str          # menu entry
    icon_text: str      # text under the toolbar icon; "" = a compact icon-only button
    tool_tip: str
    icon: str           # file in icons/
    shortcut: str = ""  # keys that show the dock (the toolbar end is cut off in small windows)

    @property
    def menu_item(self) -> str:
        return f"{MENU_PATH}.{self.key}"

    @property
    def toolbar_item(self) -> str:
        return f"@toolbar.layertools_{self.key}"

    @property
    def icon_path(self) -> str:
        return os.path.join(ICON_DIR, self.icon)


PANELS = (
    PanelSpec("expression", "layertools.gui.expression_panel", "ExpressionDock",
              "layertools_expression_dock", "Layer Expression", "",
              "Evaluate Xic-style layer expressions (e.g. 68/20 & !69/20) into a layer",
              "expression.png", "Ctrl+Shift+E"),
    PanelSpec("memory", "layertools.gui.memory_panel", "MemoryDock",
              "layertools_memory_dock", "Memory Report", "Memory",
              "Where the memory of the loaded layouts goes (KLayout's -d 31 report and more)",
              "memory.png"),
)


@dataclass
class InstallReport:
    """What :func:`install` did (tests and users' macros read it; nothing in it is a Qt object)."""

    environment: str
    installed: bool = False
    version: str = __version__
    docks: dict = field(default_factory=dict)          # key -> object name of docks that exist now
    reused_docks: list = field(default_factory=list)   # keys of docks found from an earlier install
    menu_items: list = field(default_factory=list)
    toolbar_items: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    log_file: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# Module-level so the Actions (and their Python handlers) live as long as the application; also
# what makes a second install() in the same interpreter cheap.
_actions: dict = {}
_panel_errors: dict = {}


def install(main_window=None) -> InstallReport:
    """Install into ``main_window`` (default: the application's).  See the module docstring."""
    report = InstallReport(environment=GUI if main_window is not None else _safe_environment())
    if report.environment != GUI:
        return report
    logger = get_logger()
    report.log_file = log_path()
    try:
        import pya
        mw = main_window or pya.Application.instance().main_window()
        _check_version(logger)
        for spec in PANELS:
            dock = _ensure_dock(mw, spec, report, logger)
            if dock is not None:
                report.docks[spec.key] = spec.object_name
        _install_menu(mw, report, logger)
        report.installed = True
        logger.info("layertools %s installed: docks %s", __version__, sorted(report.docks))
    except Exception as exc:  # never let KLayout swallow it silently
        logger.exception("layertools: installing the menus and docks failed")
        report.errors.append(f"install failed: {exc!r}")
    return report


def uninstall(main_window=None) -> None:
    """Remove the menu entries, toolbar buttons and docks again (for development: reload, re-install)."""
    if main_window is None and _safe_environment() != GUI:
        return
    logger = get_logger()
    try:
        import pya
        mw = main_window or pya.Application.instance().main_window()
        menu = mw.menu()
        for spec in PANELS:
            for path in (spec.menu_item, spec.toolbar_item):
                if menu.is_valid(path):
                    menu.delete_item(path)
            dock = mw.findChild(spec.object_name)
            if dock is not None:
                dock.hide()
                mw.removeDockWidget(dock)
                # deleteLater() waits for the event loop (processEvents() in a script does not run
                # it); the rename makes the dock invisible to findChild, i.e. to install(), at once.
                dock.objectName = ""
                dock.deleteLater()
        for path in (MENU_PATH, "@toolbar." + TOOLBAR_SEPARATOR):
            if menu.is_valid(path):
                menu.delete_item(path)
        _actions.clear()
    except Exception:
        logger.exception("layertools: uninstall failed")


def show_panel(key: str) -> bool:
    """Show and raise the dock ``key`` ("expression" or "memory"), creating it if needed.

    This is what the menu entries and toolbar buttons do.  Returns False (and says why in the status
    bar and the log) when the panel is unavailable.  Never raises: it runs inside Qt slots.
    """
    logger = get_logger()
    try:
        import pya
        mw = pya.Application.instance().main_window()
        spec = _spec(key)
        dock = mw.findChild(spec.object_name)
        if dock is None:  # its class failed before, or someone closed and deleted it: try again
            dock = _ensure_dock(mw, spec, InstallReport(environment=GUI), logger, hidden=False)
        if dock is None:
            mw.message(f"layertools: the {spec.title} panel is unavailable: "
                       f"{_panel_errors.get(key, 'see the log')} (log: {log_path()})", 15000)
            return False
        _place_first_time(mw, spec, dock, logger)
        dock.show()
        dock.qt_raise()
        dock.activateWindow()
        return True
    except Exception:
        logger.exception("layertools: showing panel %r failed", key)
        return False


# ------------------------------------------------------------------------------------------------
# docks

def _ensure_dock(mw, spec: PanelSpec, report: InstallReport, logger: logging.Logger, hidden: bool = True):
    import pya
    existing = mw.findChild(spec.object_name)
    if existing is not None:
        report.reused_docks.append(spec.key)
        return existing
    dock_class = None
    try:
        module = importlib.import_module(spec.module)
        dock_class = getattr(module, spec.class_name, None)
        if dock_class is None:
            raise ImportError(f"{spec.module} has no class {spec.class_name}")
        dock = dock_class(mw)
    except Exception as exc:
        if dock_class is not None:
            _discard_half_built(mw, dock_class)
        _panel_errors[spec.key] = f"{type(exc).__name__}: {exc}"
        logger.exception("layertools: the %s panel (%s.%s) is unavailable",
                         spec.title, spec.module, spec.class_name)
        report.errors.append(f"{spec.key}: {_panel_errors[spec.key]}")
        return None
    _panel_errors.pop(spec.key, None)
    if dock.objectName != spec.object_name:
        logger.warning("layertools: %s set objectName %r; using %r", spec.class_name, dock.objectName,
                       spec.object_name)
        dock.objectName = spec.object_name
    mw.addDockWidget(pya.Qt.RightDockWidgetArea, dock)
    if hidden:
        dock.hide()  # out of the way until its menu entry or toolbar button is used
    _keep_placement(mw, spec, dock, logger)
    return dock


def _discard_half_built(mw, dock_class) -> None:
    # A constructor that failed after QDockWidget.__init__(parent) leaves a (hidden) child of the main
    # window behind; without this, every retry from the menu would leak one more.
    try:
        for child in mw.children():
            if isinstance(child, dock_class):
                child.hide()
                child.objectName = ""
                child.deleteLater()
    except Exception:
        pass


def _place_first_time(mw, spec: PanelSpec, dock, logger: logging.Logger) -> None:
    """The first time a dock is ever shown, float it at its full size beside the layout.

    Tabbed with KLayout's Layer Toolbox (145 px high) it showed four rows and Evaluate was off-screen;
    stacked under the Layers list it squeezes that to nothing.  Floating with its size hint every
    control shows; the user docks it where they like, and :func:`_keep_placement` remembers that.
    """
    import pya
    if load_placement(mw, spec.key):
        return
    try:
        hint = dock.sizeHint()
        frame = mw.geometry
        screen = pya.QApplication.desktop().availableGeometry(mw)
        width = min(hint.width, screen.width)
        height = min(hint.height, screen.height - 40)
        x = max(screen.left, min(frame.right - width - 40, screen.right - width))
        y = max(screen.top + 30, min(frame.top + 80, screen.bottom - height))
        dock.setFloating(True)
        dock.setGeometry(x, y, width, height)
        _save_placement(mw, spec.key, dock)
    except Exception:
        logger.warning("layertools: could not float %s at its full size", spec.object_name)


def load_placement(config, key: str) -> dict:
    """The placement saved for dock ``key``: {"visible", "floating", "area", "geometry": [x, y, w, h]}."""
    import json
    try:
        value = json.loads(config.get_config(PLACEMENT_CONFIG_PREFIX + key) or "{}")
    except Exception:  # missing or damaged: as if never placed
        return {}
    return value if isinstance(value, dict) else {}


def _save_placement(mw, key: str, dock) -> None:
    import json
    g = dock.geometry
    placement = {"visible": not dock.isHidden(), "floating": bool(dock.isFloating()),
                 "area": int(mw.dockWidgetArea(dock).to_i()), "geometry": [g.x, g.y, g.width, g.height]}
    mw.set_config(PLACEMENT_CONFIG_PREFIX + key, json.dumps(placement))


def _keep_placement(mw, spec: PanelSpec, dock, logger: logging.Logger) -> None:
    """Remember where the user puts the dock (area or floating, size, shown) in KLayout's configuration,
    and put it back there when the application starts.

    KLayout's own window state does not do it for a dock added by a macro: it restores the state before
    the autorun macros run, so our docks started hidden and stacked on the right whatever the user chose
    (measured in 0.28.5).  Restoring is deferred to the event loop, after KLayout's own restore."""
    import pya

    def save() -> None:
        try:
            _save_placement(mw, spec.key, dock)
        except Exception:
            logger.exception("layertools: could not remember where %s is", spec.object_name)

    def restore() -> None:
        try:
            placement = load_placement(mw, spec.key)
            if not placement:
                return
            x, y, width, height = placement.get("geometry", [0, 0, 0, 0])
            if placement.get("floating"):
                dock.setFloating(True)
                dock.setGeometry(x, y, width, height)
            else:
                areas = {a.to_i(): a for a in (pya.Qt.LeftDockWidgetArea, pya.Qt.RightDockWidgetArea,
                                                pya.Qt.TopDockWidgetArea, pya.Qt.BottomDockWidgetArea)}
                area = areas.get(placement.get("area"), pya.Qt.RightDockWidgetArea)
                dock.setFloating(False)
                mw.addDockWidget(area, dock)
                vertical = area.to_i() in (pya.Qt.LeftDockWidgetArea.to_i(), pya.Qt.RightDockWidgetArea.to_i())
                resize_docked(dock, width if vertical else None, None if vertical else height)
            dock.setVisible(bool(placement.get("visible")))
        except Exception:
            logger.exception("layertools: could not restore where %s was", spec.object_name)

    def changed(*_args) -> None:
        # Not during shutdown: then Qt moves and hides the docks (measured: "right area, hidden" got saved).
        if mw.isVisible() and not pya.QCoreApplication.closingDown() and not state["quitting"]:
            save()

    def quitting() -> None:  # the last word: the size as the user left it, before shutdown starts
        save()
        state["quitting"] = True

    state = {"quitting": False}
    dock.dockLocationChanged(changed)
    dock.topLevelChanged(changed)
    dock.visibilityChanged(changed)
    pya.QCoreApplication.instance().aboutToQuit(quitting)
    timer = pya.QTimer(dock)
    timer.singleShot = True
    timer.timeout(restore)
    timer.start(0)


def resize_docked(dock, width: int | None, height: int | None) -> None:
    """Give a docked dock this width (or height): this Qt binding has no QMainWindow.resizeDocks, so
    the size is fixed for one pass of the event loop and then released for the user's splitter."""
    import pya
    if width:
        dock.setFixedWidth(width)
    if height:
        dock.setFixedHeight(height)
    release = pya.QTimer(dock)
    release.singleShot = True

    def free() -> None:
        try:
            dock.setMinimumSize(0, 0)
            dock.setMaximumSize(16777215, 16777215)
        except Exception:
            pass
    release.timeout(free)
    release.start(0)
    dock._layertools_release_timer = release


# ------------------------------------------------------------------------------------------------
# menu and toolbar

def _install_menu(mw, report: InstallReport, logger: logging.Logger) -> None:
    menu = mw.menu()
    if not menu.is_valid(MENU_PATH):
        menu.insert_menu("tools_menu.end", MENU_NAME, MENU_TITLE)
    if not menu.is_valid("@toolbar." + TOOLBAR_SEPARATOR):
        menu.insert_separator("@toolbar.end", TOOLBAR_SEPARATOR)
    for spec in PANELS:
        action = _make_action(spec, logger)
        # Replacing instead of skipping keeps one entry per panel even after a module reload,
        # whose fresh handlers would otherwise never be connected.
        for path, parent in ((spec.menu_item, MENU_PATH), (spec.toolbar_item, "@toolbar")):
            if menu.is_valid(path):
                menu.delete_item(path)
            name = path.rsplit(".", 1)[1]
            menu.insert_item(parent + ".end", name, action)
        report.menu_items.append(spec.menu_item)
        report.toolbar_items.append(spec.toolbar_item)
        _actions[spec.key] = action


def _make_action(spec: PanelSpec, logger: logging.Logger):
    import pya
    action = pya.Action()
    action.title = spec.title
    # Icon only where icon_text is "": in editor mode at KLayout's default window size the end of the
    # toolbar is cut off.  A blank text gives the icon-only button (seen in 0.28.5).
    action.icon_text = spec.icon_text or " "
    keys = f" ({spec.shortcut})" if spec.shortcut else ""
    action.tool_tip = f"{spec.title}{keys}: {spec.tool_tip}"
    if os.path.isfile(spec.icon_path):
        action.icon = spec.icon_path
    else:
        logger.warning("layertools: icon %s is missing", spec.icon_path)
    if spec.key in _panel_errors:
        action.tool_tip = f"{action.tool_tip}\nUnavailable: {_panel_errors[spec.key]}"
    if spec.shortcut:
        action.default_shortcut = spec.shortcut
    key = spec.key
    action.on_triggered(lambda: show_panel(key))
    return action


def _spec(key: str) -> PanelSpec:
    for spec in PANELS:
        if spec.key == key:
            return spec
    raise KeyError(f"no layertools panel {key!r}; panels: {', '.join(s.key for s in PANELS)}")


# ------------------------------------------------------------------------------------------------
# logging

class _KLayoutLogHandler(logging.Handler):
    """Forwards warnings and errors to KLayout's own log (stderr and Help > Log Viewer)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            import pya
            text = self.format(record)
            if record.levelno >= logging.ERROR:
                pya.Logger.error(text)
            elif record.levelno >= logging.WARNING:
                pya.Logger.warn(text)
            else:
                pya.Logger.info(text)
        except Exception:
            pass  # a logger that raises would defeat its purpose


def get_logger() -> logging.Logger:
    """The package's logger, set up once: ``<KLAYOUT_HOME>/layertools.log`` plus KLayout's log."""
    logger = logging.getLogger(LOGGER_NAME)
    if getattr(logger, "_layertools_configured", False):
        return logger
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        os.makedirs(os.path.dirname(log_path()), exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(log_path(), maxBytes=512 * 1024, backupCount=1,
                                                       encoding="utf-8")
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(to_file)
    except OSError:
        pass  # a read-only home: KLayout's log below still gets the messages
    to_klayout = _KLayoutLogHandler(level=logging.WARNING)
    to_klayout.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(to_klayout)
    logger._layertools_configured = True  # type: ignore[attr-defined]
    return logger


def log_path() -> str:
    """``layertools.log`` in KLayout's home folder (KLAYOUT_HOME, by default ~/.klayout)."""
    return os.path.join(_klayout_home(), "layertools.log")


def _klayout_home() -> str:
    home = os.environ.get("KLAYOUT_HOME")
    if home:
        return home
    try:
        import pya
        path = pya.Application.instance().application_data_path()
        if path:
            return path
    except Exception:
        pass
    return os.path.join(os.path.expanduser("~"), ".klayout")


def _check_version(logger: logging.Logger) -> None:
    from ..compat import klayout_version
    version = klayout_version()
    if version and version < MIN_KLAYOUT:
        logger.warning("layertools %s needs KLayout %s or newer; this is %s", __version__,
                       ".".join(map(str, MIN_KLAYOUT)), ".".join(map(str, version)))


def _safe_environment() -> str:
    try:
        return environment()
    except Exception:
        return "unknown"
