"""Memory diagnostics: KLayout's own memory statistics, hierarchy figures, process memory, advice.

- ``memory_report(layout, cell=None, detailed=False, ...)`` -> MemoryReport for a loaded layout;
- ``read_with_report(path, ...)`` -> (layout, MemoryReport) with the read's timing;
- ``advise(report)``, ``suggest_strategy(stats, ...)``, ``estimate_memory(stats, ...)``;
- ``capture_c_stdout(function, ...)``: what KLayout prints on the C-level standard output.
"""

from __future__ import annotations

from .advice import (
                     Advice,
                     MemoryEstimate,
                     StrategySuggestion,
                     advise,
                     estimate_memory,
                     human_bytes,
                     suggest_partition,
                     suggest_strategy,
)
from .capture import CaptureError, capture_c_stdout
from .klayout_statistics import (
                     MASTER_CATEGORIES,
                     MemoryLine,
                     MemoryStatistics,
                     mem_statistics,
                     parse_mem_statistics,
                     shapes_memory_by_layer,
)
from .memory_report import LayerMemory, MemoryReport, memory_report, read_layout_for_report, read_with_report
from .process import LoadTiming, ProcessMemory, process_memory

__all__ = [
    "memory_report", "read_with_report", "read_layout_for_report", "MemoryReport", "LayerMemory",
    "advise", "suggest_strategy", "suggest_partition", "estimate_memory", "Advice", "MemoryEstimate",
    "StrategySuggestion", "human_bytes", "capture_c_stdout", "CaptureError",
    "ProcessMemory", "LoadTiming", "process_memory", "MemoryLine", "MemoryStatistics", "MASTER_CATEGORIES",
    "mem_statistics", "parse_mem_statistics", "shapes_memory_by_layer",
]
