# klayout -b: KLayout 0.28's stale free layer slot after Undo + Redo, and the panel's repair.
# Prints one JSON line; exits 0 unless the script itself fails.
import json
import os
import sys

import pya

sys.path.insert(0, os.path.join(os.environ["LT_PANEL_REPO"], "python"))
from layertools.klayout_fixes import repair_free_layer_slots  # noqa: E402


def redone_layout():
    manager = pya.Manager()
    layout = pya.Layout(True, manager)
    top = layout.create_cell("TOP")
    layout.insert_layer(pya.LayerInfo(1, 0))
    manager.transaction("evaluate")
    result = layout.insert_layer(pya.LayerInfo(100, 0))
    top.shapes(result).insert(pya.Box(0, 0, 10, 10))
    manager.commit()
    manager.undo()
    manager.redo()
    return manager, layout, top, result


out = {"version": pya.Application.instance().version()}
_, layout, top, result = redone_layout()
new = layout.insert_layer(pya.LayerInfo(102, 0))
out["without_repair"] = {"same_slot": new == result, "label_of_result_slot": layout.get_info(result).to_s()}
manager, layout, top, result = redone_layout()
out["stale_removed"] = repair_free_layer_slots(layout)
new = layout.insert_layer(pya.LayerInfo(102, 0))
out["with_repair"] = {"same_slot": new == result, "label_of_result_slot": layout.get_info(result).to_s(),
                      "shapes": top.shapes(result).size(), "repair_again": repair_free_layer_slots(layout)}
manager.undo()   # the redone evaluation is still undoable and takes only its own layer
out["after_undo"] = sorted(layout.get_info(i).to_s() for i in layout.layer_indexes())
print("RESULT " + json.dumps(out))
