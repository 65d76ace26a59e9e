"""Layer groups: nested folders with their own visibility, opacity, blend mode and mask.

A group is not a layer in the document's flat list (which stays what the
layer panel and the exporters iterate); each layer names its innermost group
(``Layer.group``) and each group its parent, so the tree is implicit. The
compositor draws a group the way Photoshop does: pass-through (``blend_mode
None``) lets its layers blend straight into what is below, then fades the
result by the group's opacity and mask; any other mode composites the
group's layers on their own first (isolated) and then blends that picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .blend import BlendMode
from .layer import LayerMask, new_layer_id

GROUP_FIELDS = ("name", "visible", "opacity", "blend_mode", "mask", "parent")


@dataclass(eq=False)
class Group:
    name: str = "Group"
    visible: bool = True
    opacity: float = 1.0
    blend_mode: BlendMode | None = None  # None: pass-through, Photoshop's default for groups
    mask: LayerMask | None = None
    parent: str | None = None  # id of the enclosing group, None at the top
    id: str = field(default_factory=new_layer_id)

    def __post_init__(self) -> None:
        if self.blend_mode is not None:
            self.blend_mode = BlendMode.parse(self.blend_mode)
        self.opacity = float(min(1.0, max(0.0, self.opacity)))
        self.visible = bool(self.visible)
        if self.mask is not None and not isinstance(self.mask, LayerMask):
            raise TypeError("mask must be a LayerMask or None")

    @property
    def pass_through(self) -> bool:
        return self.blend_mode is None

    def properties(self) -> dict:
        return {k: getattr(self, k) for k in GROUP_FIELDS}

    def copy(self, **changes) -> "Group":
        return replace(self, **changes)
