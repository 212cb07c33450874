"""``layertools eval``: read, evaluate, write (contract §4)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from ..cluster import batch_log, session as cluster_session
from ..errors import (Cancelled, CellNotFoundError, ExpressionError, LayertoolsError, OptionError)
from ..layoutio import LayoutFileError, check_output_path, find_cell, read_layout, write_layout
from ..options import EvalOptions
from .progress import TerminalProgress

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def run(args: argparse.Namespace) -> int:
    progress = TerminalProgress(sys.stderr)
    cluster = contextlib.ExitStack()
    try:
        options = EvalOptions(
            to=args.to, cell=args.cell, depth=args.depth, recursive=args.recursive,
            strategy=args.strategy, partition=args.partition, threads=args.threads,
            clear=not args.no_clear, format=args.format, merge=args.merge, fast=args.fast,
            join_max_poly_verts=args.join_max_verts,
        ).validated()
        from ..language import is_empty, parse
        if not is_empty(args.expression):
            parse(args.expression)  # a syntax error needs no file reading first
        try:
            check_output_path(args.output)
        except LayoutFileError as exc:  # the command line names an output that cannot be written
            raise OptionError(str(exc)) from None
        distribute = cluster.enter_context(cluster_session(args, batch_log(sys.stderr)))
        progress.stage(f"reading {args.input}")
        started = time.perf_counter()
        layout = read_layout(args.input)
        read_seconds = time.perf_counter() - started
        cell = find_cell(layout, options.cell)
        if args.explain:
            from ..engine.explain import explain
            fields = {k: v for k, v in options.as_dict().items() if k not in ("to", "cell")}
            print(explain(layout, cell, args.expression, options.to, **fields).text())
        from ..engine import run as evaluate
        result = evaluate(layout, cell, args.expression, options,
                          progress=progress if progress.enabled else None, distribute=distribute)
        progress.stage(f"writing {args.output}")
        started = time.perf_counter()
        write_layout(layout, args.output)
        write_seconds = time.perf_counter() - started
    except ExpressionError as exc:
        progress.done()
        print(f"layertools: error: {exc.message}" + (f" at column {exc.column}" if exc.column else ""),
              file=sys.stderr)
        if exc.text is not None and exc.position is not None:
            print("  " + exc.caret().replace("\n", "\n  "), file=sys.stderr)
        return EXIT_USAGE
    except (OptionError, CellNotFoundError) as exc:
        progress.done()
        print(f"layertools: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled as exc:
        progress.done()
        print(f"layertools: {exc}; nothing was written", file=sys.stderr)
        return EXIT_FAILURE
    except (LayoutFileError, LayertoolsError) as exc:
        progress.done()
        print(f"layertools: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        cluster.close()
    progress.done()
    print(f"{result.summary()}; read {read_seconds:.2f} s, write {write_seconds:.2f} s")
    if result.reason:
        print(f"auto: {result.reason}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK
