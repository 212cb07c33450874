"""How parsing and evaluation scale with the number of operands (10,000 operands must parse and
evaluate in linear time).

    PYTHONPATH=python python3 bench/operand_scaling.py [--max 40000]

Joins n layer reads with ``|`` and as ``geomOr(...)`` arguments (50 distinct layers, repeated)
and prints the parse and evaluate times per n.  Linear work shows as a constant time per
operand (the last column); the old parser failed beyond ~330 ``|`` operands and geomOr was
quadratic (2,000 arguments 4.3 s).  Wall times: note the machine load printed first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import layertools  # noqa: E402
from layertools.compat import db  # noqa: E402
from layertools.language import parse  # noqa: E402

LAYERS = 50


def small_layout() -> "db.Layout":
    layout = db.Layout()
    top = layout.create_cell("TOP")
    for number in range(1, LAYERS + 1):
        top.shapes(layout.layer(number, 0)).insert(db.Box(number * 100, 0, number * 100 + 1000, 1000))
    return layout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=40000, help="largest operand count (default 40000)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{'form':7} {'n':>7} {'parse s':>8} {'evaluate s':>11} {'µs/operand':>11}")
    n = 1250
    while n <= args.max:
        operands = [f"{i % LAYERS + 1}/0" for i in range(n)]
        for form, text in (("|", " | ".join(operands)), ("geomOr", f"geomOr({', '.join(operands)})")):
            started = time.perf_counter()
            parse(text)
            parsed = time.perf_counter() - started
            layout = small_layout()
            started = time.perf_counter()
            layertools.evaluate(layout, layout.top_cell(), text, "100/0", strategy="flat")
            evaluated = time.perf_counter() - started
            print(f"{form:7} {n:7d} {parsed:8.3f} {evaluated:11.3f} {(parsed + evaluated) / n * 1e6:11.1f}")
        n *= 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
