"""``layertools memstat INPUT [--detailed] [--json] [--cell NAME]`` (doc/decisions.md I2).

The file is read as ``klayout -b`` reads a file given on its command line (viewer mode, default
reader options), so the master block equals ``klayout -b -d 31 INPUT``'s for the same KLayout
version.  Exit status: 0 success, 1 unreadable input, 2 unknown cell.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import CellNotFoundError, LayertoolsError
from ..memstat import memory_report, read_layout_for_report
from .exit_status import EXIT_OK, exit_status


def memstat_command(args: argparse.Namespace) -> int:
    editable = bool(getattr(args, "editor", False))
    cell = getattr(args, "cell", None)
    try:
        layout, timing = read_layout_for_report(args.input, editable=editable)
        if cell is not None and not layout.has_cell(cell):
            tops = sorted(layout.cell(index).name for index in layout.each_top_cell())
            shown = ", ".join(tops[:10]) + (f" and {len(tops) - 10} more" if len(tops) > 10 else "")
            raise CellNotFoundError(f"unknown cell {cell!r} in {args.input} (top cells: {shown})")
        report = memory_report(layout, cell=cell, detailed=bool(args.detailed), load=timing,
                               source=args.input, threads=int(getattr(args, "threads", 0) or 0))
    except LayertoolsError as exc:   # an unreadable input, an unknown cell
        print(f"layertools memstat: {exc}", file=sys.stderr)
        return exit_status(exc)
    text = report.to_json() + "\n" if args.json else report.to_text()
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `layertools memstat big.gds | head`
        return EXIT_OK
    return EXIT_OK


__all__ = ["memstat_command"]
