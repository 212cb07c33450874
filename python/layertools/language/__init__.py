"""Xic's layer-expression language: tokens, the checked tree, and the parser."""

from .ast import GEOMETRY, SCALAR, Binary, Call, Instances, LayerRef, Node, Number, Unary, layer_refs, to_text, walk
from .functions import FUNCTIONS
from .parser import calls, is_empty, parse

__all__ = ["parse", "is_empty", "calls", "FUNCTIONS", "Node", "Number", "LayerRef", "Instances", "Unary",
           "Binary", "Call", "GEOMETRY", "SCALAR", "layer_refs", "to_text", "walk"]
