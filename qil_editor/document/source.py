"""Where a document came from, so saving never destroys a designer's file silently.

A document opened from a PSD keeps the file's parsed records (:class:`PsdSource`):
which psd-tools record each layer came from, the layer as it was read, and
every feature of the file that our editor shows as plain pixels (live text,
shapes, smart objects, effects, adjustment and fill layers, groups...). The
PSD writer uses the records to write untouched layers back as they were;
:func:`save_losses` tells the UI, before a save, what would still change
beyond the user's own edits. Qt-free and free of psd-tools imports: the
records are opaque here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Features that live in a layer's record and survive a save only while the
# layer's pixels are the ones read (a pixel edit writes the layer as pixels).
LIVE_KINDS = frozenset({"text", "shape", "smart_object", "fill", "adjustment", "effects",
                        "vector_mask"})


@dataclass(frozen=True)
class SourceFeature:
    """One thing in the source file that the editor shows but does not model.

    ``text`` is a sentence for a person ("live text layer 'Title' becomes
    pixels"); ``layer_id`` ties it to a document layer, None for the file.
    """

    kind: str
    text: str
    layer_id: str | None = None
    layer_name: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class LayerOrigin:
    """A document layer's psd-tools record, and the layer as it was read."""

    record: object                # psd-tools LayerRecord
    channels: object              # psd-tools ChannelDataList
    psd_layer: object             # psd-tools api layer
    chain: tuple = ()             # enclosing psd-tools groups, outermost first
    prefix: str = ""              # "Group/Sub/" put in front of the name
    inherited_opacity: float = 1.0  # product of the enclosing groups' opacities
    group_visible: bool = True
    props: dict = field(default_factory=dict)  # Layer.properties() at read time
    pixels: object = None         # the pixel array read (identity marks "unchanged")
    derived: bool = False         # pixels are rendered/baked, not the stored channels
    live: tuple = ()              # SourceFeatures of LIVE_KINDS on this layer


@dataclass(eq=False)
class GroupOrigin:
    """A document group's psd-tools group (its two records) and its values as read."""

    psd_group: object
    props: dict = field(default_factory=dict)


class PsdSource:
    """The parsed PSD a document was opened from."""

    def __init__(self, path: str, psd, *, version: int, depth: int, color_mode: int,
                 channels: int, width: int, height: int) -> None:
        self.path = path
        self.psd = psd
        self.version, self.depth, self.color_mode = version, depth, color_mode
        self.channels, self.width, self.height = channels, width, height
        self.origins: dict[str, LayerOrigin] = {}
        self.group_origins: dict[str, GroupOrigin] = {}  # document group id -> origin
        # layers shown for what a group's record draws (an artboard's background):
        # id -> (properties, pixels) as read; the lossless writer leaves them out
        self.synthetic: dict[str, tuple] = {}
        self.features: list[SourceFeature] = []
        self.order: list[str] = []  # layer ids as read, bottom first
        self.working_space = None  # a CMYK file's layers' colour (document.cmyk.CmykSpace)
        # a group's layer style shown as a synthetic layer: id -> (group name, the group's
        # layer ids it was drawn from, document group id or None, its effects (to redraw it))
        self.group_styles: dict[str, tuple] = {}
        # id -> what group_styles.redraw_group_styles last drew that layer for
        self.group_style_drawn: dict[str, tuple] = {}

    @property
    def lossless(self) -> bool:
        """Whether untouched records can be written back as read (RGB, 8 or 16 bits)."""
        return self.color_mode == 3 and self.depth in (8, 16)

    def unchanged(self, layer) -> bool:
        origin = self.origins.get(layer.id)
        return (origin is not None and layer.pixels is origin.pixels
                and _same_props(layer.properties(), origin.props))

    def pixels_changed(self, layer) -> bool:
        origin = self.origins.get(layer.id)
        return origin is not None and layer.pixels is not origin.pixels


def _same_props(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k] is b[k]) if k == "mask" else a[k] == b[k] for k in a)


def save_losses(doc) -> list[str]:
    """What saving ``doc`` as a PSD would change beyond the user's own edits.

    Sentences for a person, in file order; empty when nothing is lost (or the
    document was not opened from a PSD). With a source the writer can keep
    (8/16-bit RGB), only live features of layers whose pixels were edited
    become pixels; otherwise everything recorded at read time is lost.
    """
    source = getattr(doc, "source", None)
    if source is None:
        return []
    if not source.lossless:
        return [f.text for f in source.features]
    out: list[str] = []
    ids = {layer.id for layer in doc.layers}
    from .group_styles import style_is_current

    for layer_id, (props, pixels) in source.synthetic.items():
        layer = next((ly for ly in doc.layers if ly.id == layer_id), None)
        if layer is not None and layer_id in source.group_styles:
            # its pixels and offset follow the group (said below when they don't)
            same = _same_props({k: v for k, v in layer.properties().items() if k not in ("x", "y")},
                               {k: v for k, v in props.items() if k not in ("x", "y")})
        else:
            same = (layer is not None and layer.pixels is pixels
                    and _same_props(layer.properties(), props))
        if not same:
            name = props["name"].rsplit("/", 1)[-1]
            out.append(f"'{name}' is drawn by Photoshop from its group (artboard or layer style); "
                       "changes to it are not saved")
    for layer_id, style in source.group_styles.items():
        if layer_id not in ids or style_is_current(doc, layer_id):
            continue
        out.append(f"the layer style of group '{style[0]}' is shown (and saved in the file's merged "
                   "picture) as drawn before its layers changed: it does not follow them until the "
                   "file is reopened (Photoshop redraws it from the group)")
    for layer in doc.layers:
        origin = source.origins.get(layer.id)
        if origin is None or not origin.live:
            continue
        if source.pixels_changed(layer):
            out += [f.text for f in origin.live]
    for f in source.features:  # file-level facts a lossless save still changes
        if f.layer_id is None and f.kind in ("merged_image",):
            out.append(f.text)
        elif f.kind == "hidden_group" and f.layer_id in ids:
            layer = doc.layer(f.layer_id)
            if layer.visible and not source.origins[f.layer_id].props["visible"]:
                out.append(f.text)
    return out
