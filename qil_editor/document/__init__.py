"""Qt-free document model: layers, compositing and undoable commands."""

from ..lazy_names import lazy_names

#: Each public name and the module that defines it. Loaded on first use (PEP 562), so a module
#: that only needs ``BlendMode`` (the editor's empty window, its layer panel) does not run the
#: whole model (dataclasses, commands, compositing) at start-up.
_LAZY = {
    **dict.fromkeys(("BlendMode",), "blend"),
    **dict.fromkeys(("AddLayer", "Command", "DeleteLayer", "DuplicateLayer", "GroupLayers", "History",
                     "MacroCommand", "MergeDown", "MoveGroup", "MoveLayer", "ReorderLayer", "ReplaceLayers",
                     "ReplacePixels", "SetGroupProperties", "SetLayerProperties", "SetVisibility", "Ungroup"),
                    "commands"),
    **dict.fromkeys(("composite", "composite_layers", "merge_layers"), "compositing"),
    **dict.fromkeys(("Document", "DocumentEvent"), "document"),
    **dict.fromkeys(("Group",), "group"),
    **dict.fromkeys(("Layer", "LayerMask", "new_layer_id"), "layer"),
    **dict.fromkeys(("PsdSource", "SourceFeature", "save_losses"), "source"),
}

__all__ = [
    "AddLayer", "BlendMode", "Command", "DeleteLayer", "Document", "DocumentEvent",
    "DuplicateLayer", "Group", "GroupLayers", "History", "MoveGroup", "SetGroupProperties", "Ungroup", "Layer", "LayerMask", "MacroCommand", "PsdSource", "SourceFeature", "MergeDown", "MoveLayer",
    "ReorderLayer", "ReplaceLayers", "ReplacePixels", "SetLayerProperties", "SetVisibility",
    "composite", "composite_layers", "merge_layers", "new_layer_id", "save_losses",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
