"""The memory report of one layout: KLayout's statistics, hierarchy, process figures and advice."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..compat import IN_APPLICATION, db, klayout_version
from ..hierarchy_stats import LayoutStats, layout_statistics
from ..layoutio import LayoutFileError, check_input_path
from .advice import Advice, StrategySuggestion, advise, human_bytes, suggest_strategy
from .capture import CaptureError
from .klayout_statistics import (
    MASTER_HEADER,
    MemoryLine,
    MemoryStatistics,
    format_block,
    mem_statistics,
    shapes_memory_by_layer,
)
from .process import LoadTiming, ProcessMemory, process_memory, timed


@dataclass
class LayerMemory:
    """One layer: shape counts and the memory of its shape lists (detailed reports only)."""

    index: int
    label: str
    stored: int
    flat: int
    used_bytes: int | None = None
    reqd_bytes: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class MemoryReport:
    statistics: MemoryStatistics
    hierarchy: LayoutStats | None
    process: ProcessMemory
    load: LoadTiming | None = None
    layers: list[LayerMemory] = field(default_factory=list)
    suggestion: StrategySuggestion | None = None
    advice: list[Advice] = field(default_factory=list)
    detailed: bool = False
    editable: bool = False
    source: str | None = None
    klayout: str = ""
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    # --- JSON / YAML ------------------------------------------------------------------------
    def as_dict(self) -> dict:
        data = {
            "layertools_memstat": 1,
            "source": self.source,
            "klayout_version": self.klayout,
            "mode": "editor" if self.editable else "viewer",
            "categories": self.statistics.master_dict(),
            "process": self.process.as_dict(),
            "load": self.load.as_dict() if self.load is not None else None,
            "hierarchy": self.hierarchy.as_dict() if self.hierarchy is not None else None,
            "layers": [entry.as_dict() for entry in self.layers],
            "suggestion": self.suggestion.as_dict() if self.suggestion is not None else None,
            "advice": [item.as_dict() for item in self.advice],
            "report_seconds": self.elapsed_s,
            "warnings": list(self.warnings),
        }
        if self.detailed:
            data["detailed"] = {
                "types": [line.__dict__ for line in self.statistics.types],
                "categories": [line.__dict__ for line in self.statistics.categories],
                "other_sections": {k: [line.__dict__ for line in v]
                                   for k, v in self.statistics.other_sections.items()},
            }
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.as_dict(), indent=indent)

    def to_yaml(self) -> str:
        try:
            import yaml
        except ImportError:
            from ..errors import MissingDependencyError
            raise MissingDependencyError("YAML export needs PyYAML (pip install pyyaml);"
                                         " JSON export works without it") from None
        return yaml.safe_dump(self.as_dict(), sort_keys=False, allow_unicode=True)

    def export(self, path: str) -> None:
        """Write the report as YAML (.yaml/.yml) or JSON (anything else), atomically."""
        text = self.to_yaml() if path.lower().endswith((".yaml", ".yml")) else self.to_json() + "\n"
        from ..safe_write import write_text_atomically
        write_text_atomically(path, text)

    # --- text ---------------------------------------------------------------------------------
    def to_text(self) -> str:
        """KLayout's master block first (byte for byte), then hierarchy, process, load and advice."""
        out = [self.statistics.master_block().rstrip("\n"), ""]
        mode = "editor" if self.editable else "viewer"
        head = f"Layout: {self.source or '(in memory)'} ({mode} mode, KLayout {self.klayout})"
        out.append(head)
        if self.load is not None:
            load = self.load
            out.append(f"  read in {load.wall_s:.3f} s wall, {load.user_s:.2f} s user, {load.sys_s:.2f} s sys;"
                       f" resident memory grew by {human_bytes(load.rss_growth_bytes)}")
        process = self.process
        out.append(f"Process: resident {human_bytes(process.rss_bytes)} (peak {human_bytes(process.peak_rss_bytes)}),"
                   f" virtual {human_bytes(process.vsize_bytes)}")
        if process.heap_in_use_bytes is not None:
            out.append(f"  heap: {human_bytes(process.heap_in_use_bytes)} in use,"
                       f" {human_bytes(process.heap_free_bytes)} free inside it"
                       f" ({(process.heap_free_fraction or 0):.0%}; a high share means fragmentation)")
        hierarchy = self.hierarchy
        if hierarchy is not None:
            out.append("")
            out.extend(hierarchy_table(hierarchy))
        if self.layers:
            out.append("")
            out.extend(layer_table(self.layers))
        if self.detailed:
            out.append("")
            out.append(format_block("Memory usage per type:", self.statistics.types, padded=False).rstrip("\n"))
            out.append(format_block("Memory usage per category:", self.statistics.categories).rstrip("\n"))
            for section, lines in self.statistics.other_sections.items():
                out.append(format_block(f"Memory usage per {section}:", lines).rstrip("\n"))
        for warning in self.warnings:
            out.append(f"Warning: {warning}")
        if self.advice:
            out.append("")
            out.append("Advice:")
            for item in self.advice:
                out.append(f"  - {item.message}")
                out.append(f"      {item.figure}")
        return "\n".join(out) + "\n"


def hierarchy_table(stats: LayoutStats) -> list[str]:
    left, bottom, right, top = stats.bbox if stats.bbox else (0.0, 0.0, 0.0, 0.0)
    lines = [
        f"Hierarchy ({stats.scope}): {stats.cells:,} cells, {stats.top_cells:,} top cell(s), depth {stats.depth},"
        f" dbu {stats.dbu:g} um, {right - left:.1f} x {top - bottom:.1f} um",
        f"  {'':<16}{'stored':>14}{'flat':>16}{'flat/stored':>13}",
    ]

    def row(name: str, stored: int, flat: int) -> str:
        ratio = f"{flat / stored:,.1f}" if stored else "-"
        return f"  {name:<16}{stored:>14,}{flat:>16,}{ratio:>13}"

    lines.append(row("single instances", stats.single_instances, stats.single_instances_flat))
    lines.append(row("array instances", stats.array_instances, stats.array_instances_flat))
    lines.append(row("array members", stats.array_members, stats.array_members_flat))
    for kind, label in (("box", "boxes"), ("polygon", "polygons"), ("path", "paths"), ("text", "texts"),
                        ("other", "other shapes")):
        stored, flat = getattr(stats.shapes_stored, kind), getattr(stats.shapes_flat, kind)
        if stored or kind != "other":
            lines.append(row(label, stored, flat))
    lines.append(row("shapes", stats.shapes_stored.total, stats.shapes_flat.total))
    lines.append(row("outline points", stats.points_stored, stats.points_flat))
    return lines


def layer_table(layers: list[LayerMemory]) -> list[str]:
    with_memory = any(entry.used_bytes is not None for entry in layers)
    header = f"  {'layer':<22}{'stored':>12}{'flat':>15}"
    if with_memory:
        header += f"{'used':>12}{'reqd':>12}"
    lines = [f"Layers ({len(layers)}):", header]
    for entry in layers:
        line = f"  {entry.label[:21]:<22}{entry.stored:>12,}{entry.flat:>15,}"
        if with_memory:
            line += f"{human_bytes(entry.used_bytes):>12}{human_bytes(entry.reqd_bytes):>12}"
        lines.append(line)
    return lines


def memory_report(layout: "db.Layout", cell: "db.Cell | int | str | None" = None, detailed: bool = False,
                  layers: Iterable[int] | None = None,
                  load: LoadTiming | None = None, source: str | None = None, threads: int = 0,
                  per_layer_memory: bool | None = None,
                  statistics: MemoryStatistics | None = None,
                  progress: Callable[[float], None] | None = None) -> MemoryReport:
    """The full report for ``layout`` (KLayout's numbers, hierarchy below ``cell``, process, advice).

    ``layers`` restricts the hierarchy counts and the estimates to those layer indexes.
    ``per_layer_memory`` (default: ``detailed``) adds each layer's shape memory.
    ``statistics``: KLayout's figures captured just before (the panel shows them first).
    ``progress``: passed to ``layout_statistics`` (fraction done, about every 0.1 s).
    """
    import time
    started = time.perf_counter()
    warnings: list[str] = []
    if statistics is None or (detailed and not statistics.types):
        try:
            statistics = mem_statistics(layout, detailed)
        except CaptureError as exc:  # e.g. no C library handle: the rest of the report still works
            statistics = MemoryStatistics()
            warnings.append(str(exc))
    hierarchy = layout_statistics(layout, cell, layers=layers, progress=progress)
    if per_layer_memory is None:
        per_layer_memory = detailed
    memory: dict[int, MemoryLine] = {}
    if per_layer_memory and hierarchy.layers and not warnings:
        memory = shapes_memory_by_layer(layout, [entry.index for entry in hierarchy.layers])
    layer_rows = [LayerMemory(entry.index, entry.label, entry.stored, entry.flat,
                              memory[entry.index].used if entry.index in memory else None,
                              memory[entry.index].reqd if entry.index in memory else None)
                  for entry in hierarchy.layers]
    suggestion = suggest_strategy(hierarchy, threads=threads)
    report = MemoryReport(
        statistics=statistics, hierarchy=hierarchy, process=process_memory(), load=load,
        layers=layer_rows, suggestion=suggestion, detailed=detailed, editable=layout.is_editable(),
        source=source, klayout=".".join(str(part) for part in klayout_version()), warnings=warnings,
    )
    report.advice = advise(report)
    report.elapsed_s = time.perf_counter() - started
    return report


def read_layout_for_report(path: str, editable: bool = False) -> tuple["db.Layout", LoadTiming]:
    """Read ``path`` the way ``klayout -b`` loads a file given on its command line (viewer mode,
    default options), timing the read.  ``editable=True`` reads it as in editor mode."""
    check_input_path(path)
    layout = db.Layout(editable)
    try:
        _, timing = timed(lambda: layout.read(path), file_bytes=os.path.getsize(path))
    except RuntimeError as exc:
        message = str(exc).strip()
        for tail in (" in Layout.read",):
            if message.endswith(tail):
                message = message[: -len(tail)]
        raise LayoutFileError(f"cannot read {path}: {message}") from None
    return layout, timing


def read_with_report(path: str, detailed: bool = False, editable: bool = False,
                     cell: "db.Cell | int | str | None" = None,
                     threads: int = 0) -> tuple["db.Layout", MemoryReport]:
    """Read a layout file and report on it, with the read's timing and memory growth."""
    layout, timing = read_layout_for_report(path, editable)
    report = memory_report(layout, cell=cell, detailed=detailed, load=timing, source=path, threads=threads)
    return layout, report


__all__ = ["MemoryReport", "LayerMemory", "memory_report", "read_with_report", "read_layout_for_report",
           "hierarchy_table", "layer_table", "MASTER_HEADER", "IN_APPLICATION"]
