"""KLayout's memory statistics as data: capture ``dump_mem_statistics`` and parse its text.

The text has sections headed ``Memory usage per <what>:`` followed by lines
``  <name>: <used> (used) <reqd> (reqd)``.  The parser relies on that frame only, never on the
names inside it: the per-type section lists demangled C++ type names, which differ between
KLayout versions and compilers, and categories may be added in later versions.  Unknown sections
are kept as they are.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Iterable

from .capture import capture_c_stdout

if TYPE_CHECKING:
    from ..compat import db

#: The master categories the JSON report always carries (0 when KLayout prints no line).
MASTER_CATEGORIES = ("Layout info", "Cell info", "Instances", "Shapes info", "Total")
MASTER_HEADER = "Memory usage per master category:"

_SECTION = re.compile(r"^Memory usage per (?P<what>.+?):\s*$")
_LINE = re.compile(r"^\s*(?P<name>.*?)\s*:\s*(?P<used>\d+) \(used\) (?P<reqd>\d+) \(reqd\)\s*$")
_CATEGORY_ID = re.compile(r"^(?P<name>.*?)\s*\[(?P<id>-?\d+)\]$")


@dataclass
class MemoryLine:
    """One line of KLayout's statistics: bytes in use and bytes allocated ("required")."""

    name: str
    used: int
    reqd: int
    category_id: int | None = None  # the "[n]" of the per-category section

    @property
    def slack(self) -> int:
        """Allocated but unused bytes (container capacity)."""
        return self.reqd - self.used


@dataclass
class MemoryStatistics:
    """One ``dump_mem_statistics`` output, parsed."""

    master: list[MemoryLine] = field(default_factory=list)
    categories: list[MemoryLine] = field(default_factory=list)
    types: list[MemoryLine] = field(default_factory=list)
    other_sections: dict[str, list[MemoryLine]] = field(default_factory=dict)
    master_text: str = ""   # the master block exactly as KLayout printed it (header included)
    text: str = ""          # everything KLayout printed for this dump

    def category(self, name: str) -> MemoryLine:
        """A master category by name; a zero line when KLayout printed none (it omits zeros)."""
        for line in self.master:
            if line.name == name:
                return line
        return MemoryLine(name, 0, 0)

    @property
    def total(self) -> MemoryLine:
        return self.category("Total")

    def master_dict(self) -> dict[str, dict[str, int]]:
        """``{"Layout info": {"used": .., "reqd": ..}, ...}``: the five master categories plus any others."""
        names = list(MASTER_CATEGORIES)
        names[-1:-1] = [line.name for line in self.master if line.name not in MASTER_CATEGORIES]
        return {name: {"used": self.category(name).used, "reqd": self.category(name).reqd} for name in names}

    def master_block(self) -> str:
        """The "Memory usage per master category:" block, byte for byte as KLayout prints it."""
        return self.master_text or format_block(MASTER_HEADER, self.master)

    def as_dict(self) -> dict:
        return {
            "master": self.master_dict(),
            "categories": [asdict(line) for line in self.categories],
            "types": [asdict(line) for line in self.types],
            "other_sections": {k: [asdict(line) for line in v] for k, v in self.other_sections.items()},
        }


def format_line(line: MemoryLine, padded: bool = True) -> str:
    """One line as KLayout prints it: category names padded to 15 columns, type names not."""
    if line.category_id is not None:
        name = f"{line.name:<15}[{line.category_id}]"
    else:
        name = f"{line.name:<15}" if padded else line.name
    return f"  {name}: {line.used} (used) {line.reqd} (reqd)"


def format_block(header: str, lines: Iterable[MemoryLine], padded: bool = True) -> str:
    return "\n".join([header] + [format_line(line, padded) for line in lines]) + "\n"


def parse_mem_statistics(text: str) -> list[MemoryStatistics]:
    """Parse one or more consecutive dumps; each ends with its master block's last line."""
    dumps: list[MemoryStatistics] = []
    current: MemoryStatistics | None = None
    section: str | None = None
    block: list[str] = []
    raw: list[str] = []

    def finish_master():
        nonlocal block
        if current is not None and block:
            current.master_text = "\n".join(block) + "\n"
        block = []

    for line in text.splitlines():
        header = _SECTION.match(line.strip())
        if header:
            what = header.group("what").strip()
            # a dump is complete once its master block was read; the next header starts another
            if current is None or (section == "master category" and current.master):
                finish_master()
                if current is not None:
                    current.text = "\n".join(raw) + "\n"
                current = MemoryStatistics()
                dumps.append(current)
                raw = []
            section = what
            raw.append(line)
            if what == "master category":
                block = [line]
            continue
        match = _LINE.match(line)
        if current is None or section is None or match is None:
            continue  # log lines around the dump (e.g. in `klayout -d 31` output)
        raw.append(line)
        entry = MemoryLine(match.group("name"), int(match.group("used")), int(match.group("reqd")))
        if section == "master category":
            block.append(line)
            current.master.append(entry)
        elif section == "category":
            named = _CATEGORY_ID.match(entry.name)
            if named:
                entry.name, entry.category_id = named.group("name").strip(), int(named.group("id"))
            current.categories.append(entry)
        elif section == "type":
            current.types.append(entry)
        else:
            current.other_sections.setdefault(section, []).append(entry)
    finish_master()
    if current is not None:
        current.text = "\n".join(raw) + "\n"
    return dumps


def mem_statistics(obj: "db.Layout | db.Cell | db.Shapes", detailed: bool = False) -> MemoryStatistics:
    """Capture and parse ``obj.dump_mem_statistics(detailed)`` for a Layout, Cell or Shapes."""
    dumps = parse_mem_statistics(capture_c_stdout(obj.dump_mem_statistics, detailed))
    if not dumps:
        return MemoryStatistics()  # an empty object prints nothing
    return dumps[-1]


def shapes_memory_by_layer(layout: "db.Layout", layers: Iterable[int] | None = None,
                           cells: Iterable[int] | None = None) -> dict[int, MemoryLine]:
    """Shape memory per layer index: each cell's shape list of that layer, summed over the cells.

    KLayout reports shape memory per shape list (``Shapes.dump_mem_statistics``); one capture
    covers all lists, whose dumps come back in the order they were requested.
    """
    layer_list = list(layout.layer_indexes()) if layers is None else list(layers)
    cell_list = list(layout.each_cell_top_down()) if cells is None else list(cells)
    order: list[int] = []

    from ..hierarchy_stats import own_shape_layers

    def dump_all():
        for cell_index in cell_list:
            cell = layout.cell(cell_index)
            for layer_index in own_shape_layers(cell, layer_list):
                order.append(layer_index)
                cell.shapes(layer_index).dump_mem_statistics(False)

    dumps = parse_mem_statistics(capture_c_stdout(dump_all))
    if len(dumps) != len(order):
        raise RuntimeError(f"expected {len(order)} shape-list reports from KLayout, got {len(dumps)}")
    result: dict[int, MemoryLine] = {}
    for layer_index, dump in zip(order, dumps):
        total = dump.total
        entry = result.setdefault(layer_index, MemoryLine(str(layer_index), 0, 0))
        entry.used += total.used
        entry.reqd += total.reqd
    return result


__all__ = ["MemoryLine", "MemoryStatistics", "MASTER_CATEGORIES", "MASTER_HEADER", "parse_mem_statistics",
           "mem_statistics", "shapes_memory_by_layer", "format_block", "format_line"]
