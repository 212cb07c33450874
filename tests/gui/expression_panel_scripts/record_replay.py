# Recording in the panel: Record, two Evaluates (one failing in between, not recorded),
# Stop, save as recipe and as macro, then replay the saved recipe in the panel as ONE undo step,
# and a failing recipe that leaves the layout as it was.  The test replays the saved files with the
# command line and in batch mode and compares all results.
import os
import sys

sys.path.insert(0, os.path.join(REPO, "tests", "gui", "expression_panel_scripts"))
import panel_common as pc  # noqa: E402

mw = main_window()
view = mw.current_view()
cv = view.active_cellview()
layout = cv.layout()
top = cv.cell
dock, installed = pc.get_dock(mw, REPO)
dock.show()

record = dock.findChild("record")
record.click()                                   # start
emit("recording_after_click", dock.is_recording)


def evaluate(to, expression, **controls):
    dock.findChild("to_layer").text = to
    dock.findChild("expression").setPlainText(expression)
    for name, value in controls.items():
        widget = dock.findChild(name)
        if name in ("strategy", "depth"):
            widget.setCurrentIndex(widget.findText(value))
        elif isinstance(value, bool):
            widget.checked = value
        else:
            widget.value = value
    dock.findChild("evaluate").click()
    return dock.last_result


first = evaluate("100/0", "68/20 & 69/20", format_joined=True)
failed = evaluate("105/0", "68/20 & nosuchlayer")          # an error: must not be recorded
second = evaluate("101/0", "bloat(0.1, 100/0, 0) - 68/20", strategy="tiled", partition=25.0,
                  format_hsplit=True)
emit("results", [first is not None, failed is None, second is not None])
emit("steps_while_recording", len(dock.recorded_steps()))
record.click()                                   # stop
emit("recording_after_stop", dock.is_recording)
emit("record_status", dock.findChild("record_status").text)

recipe_path = os.path.join(ARTIFACTS, "recorded.yaml")
macro_path = os.path.join(ARTIFACTS, "recorded.lym")
emit("saved_steps", [dock.save_recording(recipe_path), dock.save_recording_macro(macro_path)])

# What the panel's one-by-one evaluation produced, for comparison with the replays.
panel_gds = os.path.join(ARTIFACTS, "panel.gds")
layout.write(panel_gds)
results = {}
for ld in ((100, 0), (101, 0)):
    region = pc.flat_region(top, pc.layer_index(layout, *ld))
    results[f"{ld[0]}/{ld[1]}"] = region
emit("panel_areas", {k: r.area() for k, r in results.items()})

# Undo both evaluations; the layout is back to the file's content.
mw.call_menu("cm_undo")
mw.call_menu("cm_undo")
process_events(0.2)
emit("after_two_undos_empty", all(pc.flat_region(top, pc.layer_index(layout, l, d)).is_empty()
                                  for l, d in ((100, 0), (101, 0))))
before_replay = pc.fingerprint(layout)

# Replay the saved recipe in the panel: same geometry, and ONE undo takes it all back.
replayed = dock.replay_file(recipe_path)
process_events(0.2)
emit("replay_status", dock.status_text())
emit("replay_count", None if replayed is None else len(replayed))
emit("replay_xor", {k: (pc.flat_region(top, pc.layer_index(layout, *map(int, k.split("/")))) ^ r).count()
                    for k, r in results.items()})
emit("replay_panel_entries", [len(pc.layer_panel_entries(view, cv.index(), pc.layer_index(layout, l, d)))
                              for l, d in ((100, 0), (101, 0))])
mw.call_menu("cm_undo")
process_events(0.2)
emit("one_undo_restores", pc.fingerprint(layout) == before_replay)
mw.call_menu("cm_redo")
process_events(0.2)
emit("redo_xor", {k: (pc.flat_region(top, pc.layer_index(layout, *map(int, k.split("/")))) ^ r).count()
                  for k, r in results.items()})

# A recipe whose second step fails: the layout stays as it was, the status names the step.
bad_path = os.path.join(ARTIFACTS, "bad.yaml")
with open(bad_path, "w") as stream:
    stream.write("layertools: 1\nsteps:\n"
                 "  - expression: \"68/20 | 69/20\"\n    to: \"110/0\"\n"
                 "  - expression: \"110/0 & 999/99\"\n    to: \"111/0\"\n")
before_bad = pc.fingerprint(layout)
bad = dock.replay_file(bad_path)
process_events(0.2)
emit("bad_replay", {"returned": bad, "status": dock.status_text(),
                    "unchanged": pc.fingerprint(layout) == before_bad,
                    "layer_110": pc.layer_index(layout, 110, 0) is not None and
                    not pc.flat_region(top, pc.layer_index(layout, 110, 0)).is_empty(),
                    "panel_110": len(pc.layer_panel_entries(view, cv.index(), pc.layer_index(layout, 110, 0)))})
save_screenshot("recording")
