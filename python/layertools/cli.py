"""The ``layertools`` command line (doc/decisions.md I2): a thin layer over the core.

Exit status (commands/exit_status.py): 0 success; 2 bad command line, expression, layer or cell;
1 any other failure.  On any failure the output file is not written.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import NoReturn, Sequence

from . import limits
from ._version import __version__
from .cluster import add_arguments as add_cluster_arguments
from .commands.exit_status import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from .commands.option_flags import add_option_flags
from .options import option_specs


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits with 2 as well; keep its message short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layertools", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"layertools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("eval", help="evaluate a layer expression and write the layout with the result")
    ev.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    ev.add_argument("expression", help="Xic layer expression, e.g. '68/20 & 69/20'")
    add_option_flags(ev, ("to",), required=("to",))
    ev.add_argument("-o", "--output", required=True, help="output file: the whole input plus the result")
    ev.add_argument("--result-only", action="store_true",
                    help="write only the result layer, in the cells that hold it; read only the layers "
                         "the expression needs (when it names them by number)")
    add_option_flags(ev, (name for name in option_specs() if name != "to"))
    ev.add_argument("--explain", action="store_true", help="print the parsed tree and the plan first")
    add_cluster_arguments(ev)
    ev.set_defaults(handler=_run_eval)

    rp = sub.add_parser("replay", help="replay a recorded recipe on a layout")
    rp.add_argument("recipe", help="recipe file (YAML)")
    rp.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    rp.add_argument("-o", "--output", required=True, help="output file")
    add_option_flags(rp, ("cell",), help={"cell": "cell for steps whose cell is null (default: the single top cell)"})
    rp.add_argument("--result-only", action="store_true",
                    help="write only the steps' result layers, in the cells that hold them; read only the "
                         "layers the steps need (when they name them by number)")
    add_cluster_arguments(rp)
    rp.set_defaults(handler=_run_replay)

    ms = sub.add_parser("memstat", help="memory report of a layout, as 'klayout -d 31' prints it, and more")
    ms.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    ms.add_argument("--detailed", action="store_true", help="add the per-type and per-category tables")
    ms.add_argument("--json", action="store_true", help="print one JSON object")
    ms.add_argument("--cell", help="cell for the hierarchy statistics (default: the single top cell)")
    ms.add_argument("--editor", action="store_true",
                    help="load in editor mode (what the KLayout editor holds; OASIS repetitions expanded)")
    add_option_flags(ms, ("threads",), help={"threads": "threads the advice may plan with (default: all cores)"})
    ms.set_defaults(handler=_run_memstat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command.  This is the command line's one exception boundary: whatever escapes the
    commands (a bug) becomes a one-line message and exit 1, never a traceback."""
    args = build_parser().parse_args(argv)
    _Terminated.signal_name = ""
    previous = _terminate_like_interrupt()
    try:
        status = int(args.handler(args) or EXIT_OK)
        sys.stdout.flush()  # a full or closed stdout is found here, not at interpreter exit
        return status
    except KeyboardInterrupt:
        what = "terminated" if _Terminated.signal_name else "interrupted"
        done = (f"{args.output} was already written completely" if getattr(args, "output_written", False)
                else "nothing was written")
        _say(f"layertools: {what}; {done}")
        return EXIT_FAILURE
    except OSError as exc:  # stdout on a full device (eval's OUTPUT is complete by then), a closed pipe
        _silence_stdout()
        written = f" ({args.output} was written completely before)" if args.command in ("eval", "replay") else ""
        _say(f"layertools: error: cannot write the standard output: {exc.strerror or exc}{written}")
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the boundary itself
        _say(f"layertools: internal error {type(exc).__name__}: {limits.clipped(str(exc))} (please report it)")
        return EXIT_FAILURE
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _say(message: str) -> None:
    """The last word on stderr; a terminal that is gone (SIGHUP) must not turn it into a traceback."""
    try:
        print(message, file=sys.stderr)
    except (OSError, ValueError):
        pass


class _Terminated:
    signal_name = ""


def _terminate_like_interrupt() -> dict:
    """SIGTERM (and SIGHUP) clean up exactly as Ctrl-C does: the run stops at the next check and
    the temporary files of a write are removed.  Returns the handlers to restore."""
    def handler(number, frame):
        _Terminated.signal_name = signal.Signals(number).name
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            try:
                previous[number] = signal.signal(number, handler)
            except ValueError:  # not the main thread
                pass
    return previous


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so Python's exit-time flush adds no traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run_eval(args: argparse.Namespace) -> int:
    from .commands.eval_command import run
    return run(args)


def _run_replay(args: argparse.Namespace) -> int:
    from .commands.replay_command import replay_command
    return replay_command(args)


def _run_memstat(args: argparse.Namespace) -> int:
    from .commands.memstat_command import memstat_command
    return memstat_command(args)


if __name__ == "__main__":
    sys.exit(main())
