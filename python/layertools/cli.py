"""The ``layertools`` command line (layertools-contract.md §4): a thin layer over the core.

Exit status: 0 success; 2 bad command line, expression, layer or cell; 1 any other failure.
On any failure the output file is not written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ._version import __version__
from .cluster import add_arguments as add_cluster_arguments

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits with 2 as well; keep its message short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layertools", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"layertools {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("eval", help="evaluate a layer expression and write the layout with the result")
    ev.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    ev.add_argument("expression", help="Xic layer expression, e.g. '68/20 & 69/20'")
    ev.add_argument("--to", required=True, help="target layer: L/D, a name, or 'name L/D'")
    ev.add_argument("-o", "--output", required=True, help="output file: the whole input plus the result")
    ev.add_argument("--cell", help="cell to evaluate (default: the single top cell)")
    ev.add_argument("--depth", default="all", help="hierarchy depth to read: 0, 1, ... or all (default)")
    ev.add_argument("--recursive", action="store_true", help="evaluate in each cell separately (Xic)")
    ev.add_argument("--strategy", default="auto", choices=("auto", "flat", "tiled", "deep"))
    ev.add_argument("--partition", default="100", help="tile size in µm, or none (default 100)")
    ev.add_argument("--threads", type=int, default=0, help="worker threads (default 0)")
    ev.add_argument("--no-clear", action="store_true", help="keep what is on the target layer")
    ev.add_argument("--format", default="default", choices=("default", "joined", "hsplit", "vsplit"))
    ev.add_argument("--merge", action="store_true", help="merge with objects already on the target layer")
    ev.add_argument("--fast", action="store_true", help="Xic's Fast mode (no undo; no effect here)")
    ev.add_argument("--join-max-verts", type=int, default=600, metavar="N",
                    help="Joined output: break polygons above N vertices (Xic's JoinMaxPolyVerts; 0: no limit)")
    ev.add_argument("--explain", action="store_true", help="print the parsed tree and the plan first")
    add_cluster_arguments(ev)
    ev.set_defaults(handler=_run_eval)

    rp = sub.add_parser("replay", help="replay a recorded recipe on a layout")
    rp.add_argument("recipe", help="recipe file (YAML)")
    rp.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    rp.add_argument("-o", "--output", required=True, help="output file")
    rp.add_argument("--cell", help="cell for steps whose cell is null (default: the single top cell)")
    add_cluster_arguments(rp)
    rp.set_defaults(handler=_run_replay)

    ms = sub.add_parser("memstat", help="memory report of a layout, as 'klayout -d 31' prints it, and more")
    ms.add_argument("input", help="GDS or OASIS file (optionally .gz)")
    ms.add_argument("--detailed", action="store_true", help="add the per-type and per-category tables")
    ms.add_argument("--json", action="store_true", help="print one JSON object")
    ms.add_argument("--cell", help="cell for the hierarchy statistics (default: the single top cell)")
    ms.add_argument("--editor", action="store_true",
                    help="load in editor mode (what the KLayout editor holds; OASIS repetitions expanded)")
    ms.add_argument("--threads", type=int, default=0, help="threads the advice may plan with (default: all cores)")
    ms.set_defaults(handler=_run_memstat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("layertools: interrupted; nothing was written", file=sys.stderr)
        return EXIT_FAILURE


def _run_eval(args: argparse.Namespace) -> int:
    from .commands.eval_command import run
    return run(args)


def _run_replay(args: argparse.Namespace) -> int:
    from .recipe import replay_command
    return replay_command(args)


def _run_memstat(args: argparse.Namespace) -> int:
    from .memstat import memstat_command
    return memstat_command(args)


if __name__ == "__main__":
    sys.exit(main())
