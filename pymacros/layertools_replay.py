# $description: layertools: replay a recipe on a layout file (batch mode)
#
# Replays a layertools recipe (YAML) on a GDS/OASIS file and writes the result, in KLayout batch mode:
#
#   klayout -b -r <package>/pymacros/layertools_replay.py \
#       -rd recipe=RECIPE.yaml -rd input=IN.gds -rd output=OUT.gds [-rd cell=NAME]
#
# <package> is the installed Salt package (~/.klayout/salt/layertools) or a checkout.  Exit status as
# 'layertools replay': 0 done, 2 bad recipe/expression/layer/cell, 1 anything else; on failure
# OUT is not written.  Deliberately no autorun: it runs only when asked for.

import os
import sys


def _main():
    try:
        import layertools.commands.replay_command
    except ImportError:
        # run from a checkout that is not installed as a Salt package: use the package next to it
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.join(os.path.dirname(here), "python"))
        import layertools.commands.replay_command
    from layertools.environment import GUI, environment
    status = layertools.commands.replay_command.run_batch(globals())
    # run from the Macro IDE without -rd variables: report, but never end the application
    interactive = environment() == GUI and not isinstance(globals().get("recipe"), str)
    return 0 if interactive else status


_status = _main()
if _status:
    sys.exit(_status)
