"""A recipe as a KLayout macro (``.lym``, Python) that replays it where it runs: on the current
layout in the application, on files in ``klayout -b`` (the macro's body calls
``layertools.recipe.run_macro``, so macros saved by users keep running as the package changes)."""

from __future__ import annotations

import os
from xml.sax.saxutils import escape as _xml_escape

from .._version import __version__
from .model import Recipe
from .yaml_file import recipe_from_data, recipe_to_data, write_text_atomically

_MACRO_TEMPLATE = """\
<?xml version="1.0" encoding="utf-8"?>
<klayout-macro>
 <description>{description}</description>
 <version/>
 <category>pymacros</category>
 <prolog/>
 <epilog/>
 <doc/>
 <autorun>false</autorun>
 <autorun-early>false</autorun-early>
 <shortcut/>
 <show-in-menu>false</show-in-menu>
 <group-name/>
 <menu-path/>
 <interpreter>python</interpreter>
 <dsl-interpreter-name/>
 <text>{text}</text>
</klayout-macro>
"""


def recipe_to_macro(recipe: Recipe, description: str | None = None) -> str:
    """A KLayout macro (``.lym``, Python) that replays the recipe with layertools.

    In the application (Macro Development IDE, or Macros menu) it works on the current layout and
    active cell as one undo step.  In batch mode it reads ``$input`` and writes ``$output``::

        klayout -b -r recipe.lym -rd input=in.gds -rd output=out.gds [-rd cell=NAME]
    """
    data = recipe_to_data(recipe)
    recipe_from_data(data, source="<macro>")   # never write a macro that cannot run
    lines = [
        f"# layertools recipe: {len(recipe.steps)} step(s), recorded with layertools {__version__}.",
        "#",
        "# In KLayout (Macro Development IDE, or the Macros menu): replays the steps on the current",
        "# layout and active cell, as one undo step.  In batch mode, on files:",
        "#   klayout -b -r THIS.lym -rd input=IN.gds -rd output=OUT.gds [-rd cell=NAME]",
        "# Needs the layertools Salt package (Tools > Manage Packages).",
        "",
        "STEPS = [",
    ]
    for item in data["steps"]:
        pairs = ", ".join(f"{key!r}: {value!r}" for key, value in item.items())
        lines.append(f"    {{{pairs}}},")
    lines += [
        "]",
        "",
        "try:",
        "    import layertools.recipe",
        "except ImportError as exc:",
        "    raise RuntimeError('this macro needs the layertools Salt package: %s' % exc)",
        "",
        f"layertools.recipe.run_macro({{'layertools': {data['layertools']}, 'steps': STEPS}}, globals())",
        "",
    ]
    text = "\n".join(lines)
    summary = description or "; ".join(step.describe() for step in recipe.steps)
    summary = "".join(ch if ch.isprintable() else " " for ch in summary)   # XML 1.0 forbids most controls
    if len(summary) > 200:
        summary = summary[:197] + "..."
    return _MACRO_TEMPLATE.format(description=_xml_escape("layertools recipe: " + summary),
                                  text=_xml_escape(text))


def save_macro(recipe: Recipe, path: str | os.PathLike, description: str | None = None) -> None:
    """Write :func:`recipe_to_macro`'s text atomically."""
    write_text_atomically(os.fspath(path), recipe_to_macro(recipe, description))
