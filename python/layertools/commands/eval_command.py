"""``layertools eval``: read, evaluate, write (doc/decisions.md I2)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from ..cluster import batch_log
from ..cluster import session as cluster_session
from ..errors import Cancelled, ExpressionError, LayertoolsError, OptionError
from ..layoutio import LayoutFileError, check_output_path, find_cell, read_layout, write_layout
from .exit_status import EXIT_OK, exit_status
from .option_flags import options_from_flags
from .progress import TerminalProgress


def run(args: argparse.Namespace) -> int:
    progress = TerminalProgress(sys.stderr)
    result_only = bool(getattr(args, "result_only", False))
    cluster = contextlib.ExitStack()
    try:
        options = options_from_flags(args)
        from ..language import is_empty, parse
        if not is_empty(args.expression):
            parse(args.expression)  # a syntax error needs no file reading first
        try:
            check_output_path(args.output)
        except LayoutFileError as exc:  # the command line names an output that cannot be written
            raise OptionError(str(exc)) from None
        layers = None
        if result_only:  # only what the expression reads (and the To layer when its objects stay)
            from ..engine.layers import layers_to_load
            layers = layers_to_load(args.expression, options)
        distribute = cluster.enter_context(cluster_session(args, batch_log(sys.stderr)))
        progress.stage(f"reading {args.input}")
        started = time.perf_counter()
        layout = read_layout(args.input, layers=layers)
        read_seconds = time.perf_counter() - started
        cell = find_cell(layout, options.cell)
        if args.explain:
            from ..engine.explain import explain
            fields = {k: v for k, v in options.as_dict().items() if k not in ("to", "cell")}
            print(explain(layout, cell, args.expression, options.to, **fields).text())
        from ..engine import evaluate_with_options
        # Always a progress callback, also without a terminal: tiles then run in bands, and a
        # Ctrl-C or SIGTERM (delivered to Python only between KLayout calls) stops the run there.
        result = evaluate_with_options(layout, cell, args.expression, options, progress=progress, distribute=distribute)
        progress.stage(f"writing {args.output}")
        started = time.perf_counter()
        written = None
        if result_only:
            written = [result.layer_index] if result.layer_index is not None and result.layer_index >= 0 else []
        write_layout(layout, args.output, layers=written)
        args.output_written = True  # a signal from here on must not claim that nothing was written
        write_seconds = time.perf_counter() - started
    except LayertoolsError as exc:   # the message differs by kind; the exit status is exit_status's
        progress.done()
        if isinstance(exc, ExpressionError):
            print(f"layertools: error: {exc.message}" + (f" at column {exc.column}" if exc.column else ""),
                  file=sys.stderr)
            if exc.text is not None and exc.position is not None:
                print("  " + exc.caret().replace("\n", "\n  "), file=sys.stderr)
        elif isinstance(exc, Cancelled):
            print(f"layertools: {exc}; nothing was written", file=sys.stderr)
        else:
            print(f"layertools: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    finally:
        cluster.close()
    progress.done()
    print(f"{result.summary()}; read {read_seconds:.2f} s, write {write_seconds:.2f} s")
    if result.reason:
        print(f"auto: {result.reason}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK
