# $autorun
# $description: layertools: Layer Tools menu, toolbar buttons and docks (does nothing in batch mode)
# Nothing may precede the "$autorun" line: KLayout reads the header only up to the first other line.
# install() logs its own errors to <KLAYOUT_HOME>/layertools.log (KLayout hides autorun exceptions).
import layertools.gui

layertools.gui.install()
