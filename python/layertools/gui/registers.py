"""The panel's remembered state: Xic's 8 expression registers (D18) and the last settings.

Both live in KLayout's configuration (``MainWindow.get_config``/``set_config``), which KLayout writes
to ``$KLAYOUT_HOME/klayoutrc`` when it exits, so they survive a restart as every other KLayout
setting does.  Values are stored as JSON text; a damaged value is ignored (empty registers, default
settings) rather than breaking the panel.

Nothing here imports Qt: ``config`` is anything with ``get_config(key)`` and ``set_config(key, value)``
(the MainWindow in the application, a dict wrapper in tests).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

REGISTER_COUNT = 8
REGISTERS_KEY = "layertools-expression-registers"
PANEL_STATE_KEY = "layertools-expression-panel"


class Config(Protocol):
    def get_config(self, name: str) -> Any: ...
    def set_config(self, name: str, value: str) -> None: ...


class RegisterStore:
    """Xic's Save/Recall registers Reg 0 .. Reg 7, persisted in the configuration."""

    def __init__(self, config: Config):
        self._config = config

    def all(self) -> list[str]:
        """The 8 register texts ('' for an unset register)."""
        values = _read_json(self._config, REGISTERS_KEY, [])
        if not isinstance(values, list):
            values = []
        texts = [v if isinstance(v, str) else "" for v in values[:REGISTER_COUNT]]
        return texts + [""] * (REGISTER_COUNT - len(texts))

    def get(self, index: int) -> str:
        return self.all()[_check_index(index)]

    def set(self, index: int, text: str) -> bool:
        """Store ``text`` in register ``index``; like Xic, an empty text is ignored (returns False)."""
        _check_index(index)
        if not text.strip():
            return False
        values = self.all()
        values[index] = text
        self._config.set_config(REGISTERS_KEY, json.dumps(values))
        return True


def load_panel_state(config: Config) -> dict[str, Any]:
    """The panel settings saved by :func:`save_panel_state` (an empty dict if none or damaged)."""
    state = _read_json(config, PANEL_STATE_KEY, {})
    return state if isinstance(state, dict) else {}


def save_panel_state(config: Config, state: dict[str, Any]) -> None:
    config.set_config(PANEL_STATE_KEY, json.dumps(state, sort_keys=True))


def _check_index(index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < REGISTER_COUNT:
        raise ValueError(f"register must be 0..{REGISTER_COUNT - 1}, not {index!r}")
    return index


def _read_json(config: Config, key: str, default: Any) -> Any:
    try:
        text = config.get_config(key)
    except Exception:  # a config backend without the key raises in some KLayout versions
        return default
    if not text:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default
