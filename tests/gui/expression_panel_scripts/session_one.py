# First of two sessions with the same KLAYOUT_HOME (run WITHOUT -t, so KLayout writes its
# configuration on exit): save registers, then sqz on a selection, To-layer completion and the
# empty-To-layer message.  session_two.py checks what survived the restart.
import os
import sys

import pya

sys.path.insert(0, os.path.join(os.environ["LT_PANEL_REPO"], "tests", "gui", "expression_panel_scripts"))
import panel_common as pc  # noqa: E402


def session(mw, dock, data: dict) -> None:
    view = mw.current_view()
    cv = view.active_cellview()
    layout, top = cv.layout(), cv.cell

    dock.set_expression("68/20 & !69/20")
    data["save3"] = dock.save_register(3)
    dock.set_expression("bloat(0.2, 70/20, 0)")
    data["save5"] = dock.save_register(5)
    dock.set_expression("   ")
    data["save_empty"] = dock.save_register(6)          # Xic: an empty text is not saved
    data["registers"] = dock.registers()
    data["menu_texts"] = [a.text for a in dock._register_actions["recall_register"]]

    # To layer completion offers the layout's layers.
    dock._refresh_completion()
    data["completion"] = list(dock._completion.stringList)

    # Empty To layer: a message, nothing else.
    before = pc.fingerprint(layout)
    dock.findChild("to_layer").text = ""
    dock.set_expression("68/20")
    dock.findChild("evaluate").click()
    data["empty_to"] = {"status": dock.status_text(), "unchanged": pc.fingerprint(layout) == before}

    # sqz: the selected met1 shapes of the top cell, against all of met2.
    met1, met2 = pc.layer_index(layout, 68, 20), pc.layer_index(layout, 69, 20)
    chosen = pya.Region()
    picked = 0
    for shape in top.shapes(met1).each():
        if shape.is_text() or shape.polygon is None:
            continue
        path = pya.ObjectInstPath()
        path.top = top.cell_index()
        path.cv_index = cv.index()
        path.layer = met1
        path.shape = shape
        view.select_object(path)
        chosen.insert(shape.polygon)
        picked += 1
        if picked == 40:
            break
    expected = chosen & pc.flat_region(top, met2)
    dock.findChild("to_layer").text = "120/0"
    dock.set_expression("sqz(68/20) & 69/20")
    dock.findChild("evaluate").click()
    got = pc.flat_region(top, pc.layer_index(layout, 120, 0))
    data["sqz"] = {"picked": picked, "expected_area": expected.area(), "got_area": got.area(),
                   "xor": (got ^ expected).count(), "status": dock.status_text()}
    view.clear_selection()
    dock.findChild("to_layer").text = "121/0"
    dock.findChild("evaluate").click()
    got_none = pc.flat_region(top, pc.layer_index(layout, 121, 0))
    data["sqz_nothing_selected_area"] = got_none.area()

    # To-layer forms and layer-panel names (D4): a name, 'NAME L/D', and a .lyp-style panel name
    # used in the expression and as the To layer (which then means that existing layer).
    it = view.begin_layers()
    while not it.at_end():
        node = it.current()
        if node.layer_index() == met1:
            node.name = "met1"
        elif node.layer_index() == met2:
            node.name = "met2_dg"
        it.next()
    both = pc.flat_region(top, met1) & pc.flat_region(top, met2)
    forms = {}
    for to in ("RESULT", "RES2 150/0"):
        dock.findChild("to_layer").text = to
        dock.set_expression('MET1 & "met2_dg"')
        result = dock.evaluate()
        index = result.layer_index if result is not None else None
        forms[to] = {"info": layout.get_info(index).to_s() if index is not None else dock.status_text(),
                     "xor": (pc.flat_region(top, index) ^ both).count() if index is not None else -1,
                     "panel": len(pc.layer_panel_entries(view, cv.index(), index))}
    layers_before = len(layout.layer_indexes())
    dock.findChild("to_layer").text = "met2_dg"
    dock.set_expression("met2_dg | met1")
    result = dock.evaluate()
    forms["panel_name_as_target"] = {"same_layer": result is not None and result.layer_index == met2,
                                     "new_layers": len(layout.layer_indexes()) - layers_before}
    data["to_forms"] = forms

    dock.findChild("to_layer").text = "130/0"   # remembered settings for session two
    dock.findChild("threads").value = 3
    dock.set_expression("68/20 ^ 69/20")
    dock._save_state()


pc.run_session(session)
