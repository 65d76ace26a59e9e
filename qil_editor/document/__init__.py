"""Qt-free document model: layers, compositing and undoable commands."""

from .blend import BlendMode
from .commands import (AddLayer, Command, DeleteLayer, DuplicateLayer, GroupLayers, History,
                       MacroCommand, MergeDown, MoveGroup, MoveLayer, ReorderLayer, ReplaceLayers,
                       ReplacePixels, SetGroupProperties, SetLayerProperties, SetVisibility, Ungroup)
from .compositing import composite, composite_layers, merge_layers
from .document import Document, DocumentEvent
from .group import Group
from .layer import Layer, LayerMask, new_layer_id
from .source import PsdSource, SourceFeature, save_losses

__all__ = [
    "AddLayer", "BlendMode", "Command", "DeleteLayer", "Document", "DocumentEvent",
    "DuplicateLayer", "Group", "GroupLayers", "History", "MoveGroup", "SetGroupProperties", "Ungroup", "Layer", "LayerMask", "MacroCommand", "PsdSource", "SourceFeature", "MergeDown", "MoveLayer",
    "ReorderLayer", "ReplaceLayers", "ReplacePixels", "SetLayerProperties", "SetVisibility",
    "composite", "composite_layers", "merge_layers", "new_layer_id", "save_losses",
]
