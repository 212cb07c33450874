# Runs inside the KLayout application (through tests/gui/harness.py, see bench/panel.py).
#
# For each configuration, alternately: the engine called directly (no progress, no undo step) and
# the Layer Expression panel's Evaluate (progress bar with Cancel, one undo step, layer-panel entry).
# Both on the same loaded layout in the same process, so the difference is what the panel adds.
# Between runs the result is taken away (engine: delete the layer; panel: Undo), outside the clock.
import os
import sys
import time

sys.path.insert(0, os.path.join(REPO, "tests", "gui", "expression_panel_scripts"))
import layertools  # noqa: E402
import panel_common as pc  # noqa: E402
from layertools.options import EvalOptions  # noqa: E402

mw = main_window()
view = mw.current_view()
# Draw only the top cell's frame: redrawing 21 M shapes in the background after every run would
# compete with the next run for the two cores, for the panel and the engine alike.
view.max_hier_levels = 0
cv = view.active_cellview()
layout = cv.layout()
top = cv.cell
dock, _ = pc.get_dock(mw, REPO)
process_events(2.0)

expression = PARAMS["expression"]
to = PARAMS["to"]
emit("klayout", pya.Application.instance().version())
emit("cell", top.name)
runs = []
for config in PARAMS["configs"]:
    options = EvalOptions(to=to, strategy=config["strategy"], partition=config.get("partition"),
                          threads=config.get("threads", 0), fast=config.get("fast", False))
    for repetition in range(PARAMS["repeat"]):
        process_events(1.0)
        started = time.perf_counter()
        result = layertools.evaluate(layout, top, expression, to, strategy=options.strategy,
                                     partition=options.partition, threads=options.threads)
        engine_s = time.perf_counter() - started
        engine_shapes = result.shapes_written
        layout.delete_layer(result.layer_index)
        process_events(1.0)

        dock.set_options(options)
        dock.findChild("expression").setPlainText(expression)
        started = time.perf_counter()
        panel_result = dock.evaluate()
        panel_s = time.perf_counter() - started
        if panel_result is None:
            raise RuntimeError(f"the panel did not evaluate: {dock.status_text()}")
        panel_shapes = panel_result.shapes_written
        process_events(0.5)
        if options.fast:  # no undo step: take the result away by hand
            view.transaction("bench: remove the Fast-mode result")
            layout.delete_layer(panel_result.layer_index)
            view.commit()
        else:
            mw.call_menu("cm_undo")
        process_events(1.0)
        if pc.layer_index(layout, *[int(v) for v in to.split("/")]) is not None:
            raise RuntimeError("Undo left the result layer behind")
        runs.append({"config": config, "repetition": repetition, "engine_s": engine_s, "panel_s": panel_s,
                     "engine_seconds": result.seconds, "panel_seconds": panel_result.seconds,
                     "engine_shapes": engine_shapes, "panel_shapes": panel_shapes,
                     "strategy": panel_result.strategy, "tiles": panel_result.tiles})
        emit("runs", runs)
emit("done", True)
