"""The panel's register store and remembered settings, without the application.

``layertools.gui.registers`` needs no Qt: the configuration is anything with get_config/set_config
(KLayout's MainWindow in the application).  Loaded by path so this runs with the PyPI module too.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "python" / "layertools" / "gui" / "registers.py"
_spec = importlib.util.spec_from_file_location("_layertools_registers", _PATH)
registers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(registers)


class FakeConfig:
    """KLayout's configuration as the panel sees it: string values, '' for an unknown key."""

    def __init__(self, values=None):
        self.values = dict(values or {})

    def get_config(self, name):
        return self.values.get(name, "")

    def set_config(self, name, value):
        assert isinstance(value, str)
        self.values[name] = value


def test_eight_registers_start_empty_and_keep_text_exactly():
    config = FakeConfig()
    store = registers.RegisterStore(config)
    assert store.all() == [""] * 8
    text = 'bloat(0.5, "M1", 0) & <"x"> \n | ümlaut'
    assert store.set(7, text) is True
    assert store.set(0, "A & B") is True
    # A new store over the same configuration (= the next session) sees the same texts.
    again = registers.RegisterStore(FakeConfig(config.values))
    assert again.get(7) == text and again.get(0) == "A & B" and again.get(3) == ""
    assert json.loads(config.values[registers.REGISTERS_KEY])[7] == text


def test_empty_text_is_not_saved_like_xic():
    config = FakeConfig()
    store = registers.RegisterStore(config)
    store.set(2, "A")
    assert store.set(2, "   \n") is False
    assert store.get(2) == "A"


@pytest.mark.parametrize("index", [-1, 8, 1.0, True, "3"])
def test_register_index_is_checked(index):
    store = registers.RegisterStore(FakeConfig())
    with pytest.raises(ValueError):
        store.get(index)
    with pytest.raises(ValueError):
        store.set(index, "A")


@pytest.mark.parametrize("stored", ["not json", "{}", "42", '["A", 5, null]', '["a","b","c","d","e","f","g","h","i"]'])
def test_damaged_configuration_gives_usable_registers(stored):
    store = registers.RegisterStore(FakeConfig({registers.REGISTERS_KEY: stored}))
    values = store.all()
    assert len(values) == 8 and all(isinstance(v, str) for v in values)
    assert store.set(1, "X") and store.get(1) == "X"


def test_panel_state_round_trip_and_damage():
    config = FakeConfig()
    assert registers.load_panel_state(config) == {}
    registers.save_panel_state(config, {"to": "100/0", "threads": 3, "partition_none": True})
    assert registers.load_panel_state(config) == {"to": "100/0", "threads": 3, "partition_none": True}
    config.values[registers.PANEL_STATE_KEY] = "[1, 2]"
    assert registers.load_panel_state(config) == {}
    config.values[registers.PANEL_STATE_KEY] = "{broken"
    assert registers.load_panel_state(config) == {}
