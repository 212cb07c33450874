#!/usr/bin/env bash
# Set up (scripts/setup.sh), then show the main job on the bundled sample layout:
#   layertools eval    met1 AND met2 minus the vias, written into a copy of the layout
#   layertools replay  a two-step recipe on the same input
#   layertools memstat KLayout's memory report of the input
# and print a summary that re-reads the output files.  Output goes to $LAYERTOOLS_DEMO_DIR
# (default: a fresh folder under /tmp).
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"

bash scripts/setup.sh
pick_python

SAMPLE="$REPO/samples/tt_um_obriensp_be8.gds.gz"
OUT="${LAYERTOOLS_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/layertools-demo.XXXXXX")}"
mkdir -p "$OUT"
LT=("$LAYERTOOLS_PYTHON" -m layertools)
EXPRESSION="(68/20 & 69/20) - 68/44"

echo
echo "== layertools eval: '$EXPRESSION' (met1 and met2 overlap without a via) -> 100/0"
"${LT[@]}" eval "$SAMPLE" "$EXPRESSION" --to "OVERLAP 100/0" -o "$OUT/overlap.gds"

cat > "$OUT/recipe.yaml" <<'YAML'
layertools: 1
steps:
  - expression: "68/20 & 69/20"
    to: "101/0"
  - expression: "bloat(0.1, 101/0, 0) - 68/44"
    to: "102/0"
    strategy: tiled
    partition: 40.0
YAML
echo
echo "== layertools replay: $OUT/recipe.yaml (2 steps, the second one tiled)"
"${LT[@]}" replay "$OUT/recipe.yaml" "$SAMPLE" -o "$OUT/replayed.oas"

echo
echo "== layertools memstat: where the memory of the loaded sample goes"
"${LT[@]}" memstat "$SAMPLE" | sed -n 1,12p   # sed reads all: no SIGPIPE under pipefail

echo
echo "== summary (re-read from the written files)"
"$LAYERTOOLS_PYTHON" - "$SAMPLE" "$OUT/overlap.gds" "$OUT/replayed.oas" <<'PY'
import sys
import klayout.db as db

def flat(layout, layer, datatype):
    index = layout.find_layer(layer, datatype)
    region = db.Region()
    if index is not None:
        region.insert(layout.top_cell().begin_shapes_rec(index))
    return region

source, overlap, replayed = (db.Layout() for _ in range(3))
source.read(sys.argv[1]); overlap.read(sys.argv[2]); replayed.read(sys.argv[3])
um2 = source.dbu ** 2
# the same expression with plain KLayout Regions, as an independent check
expected = (flat(source, 68, 20) & flat(source, 69, 20)) - flat(source, 68, 44)
result = flat(overlap, 100, 0)
print(f"input        {sys.argv[1]}: top cell {source.top_cell().name}, {source.layers()} layers")
print(f"eval         {sys.argv[2]}: 100/0 has {result.count()} polygons, {result.area() * um2:.3f} um2; "
      f"independent Region check: XOR {'empty' if (result ^ expected).is_empty() else 'NOT EMPTY'}")
for layer in (101, 102):
    r = flat(replayed, layer, 0)
    print(f"replay       {sys.argv[3]}: {layer}/0 has {r.count()} polygons, {r.area() * um2:.3f} um2")
kept = sum(1 for i in source.layer_indexes() if overlap.find_layer(source.get_info(i)) is not None)
print(f"all {source.layers()} input layers kept in the output: {'yes' if kept == source.layers() else 'NO'}")
sys.exit(0 if (result ^ expected).is_empty() and kept == source.layers() else 1)
PY
echo
echo "files: $OUT"
