"""Export a document: PNGs (one per layer, a folder or a ZIP), one flat PNG, and
the shared machinery of every layered export (:func:`export_document`).

Each layer PNG is canvas-sized, with the layer placed at its offset and its
opacity applied to alpha, so the files line up when stacked in any editor
(as Photoshop's "Export Layers to Files" does). Files are numbered bottom-up:
``00_Background.png``, ``01_Sky.png``...

Formats that hold layers (OpenRaster, SVG, PowerPoint) cannot all express
what a layer here can have: a blend mode, a mask, clipping, fill opacity.
:func:`export_layers` turns each layer into one the format can hold, baking
what must be baked so the picture stays the same, and says so in a warning
that names the layer. Nothing is dropped silently.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from ..document import BlendMode, Document, Group, Layer, composite
from ..document.tree import group_path
from ..errors import OutputFileError, UsageError
from .atomic import atomic_write
from .files import output_error_from_os

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_CHARS = 80


def safe_file_stem(name: str) -> str:
    """A file name part that is valid on Windows, macOS and Linux (unicode kept)."""
    stem = _UNSAFE.sub("_", name).strip().strip(".").strip()
    stem = stem[:MAX_NAME_CHARS].rstrip(" .")
    if not stem:
        stem = "Layer"
    if stem.upper().split(".")[0] in _RESERVED:
        stem = "_" + stem
    return stem


def layer_file_names(doc) -> list[str]:
    """The PNG names for each layer, bottom-up, e.g. ``03_Sky.png`` (a layer in a group:
    ``03_Group_Sky.png``). ``doc`` is a document or a list of layers, bottom first."""
    if isinstance(doc, Document):
        layers = [(group_path(doc, ly.group), ly) for ly in doc.layers]
    else:
        layers = [("", ly) for ly in doc]
    digits = max(2, len(str(max(0, len(layers) - 1))))
    return [f"{i:0{digits}d}_{safe_file_stem(path + layer.name)}.png" for i, (path, layer) in enumerate(layers)]


def layer_on_canvas(layer: Layer, width: int, height: int) -> np.ndarray:
    """The layer placed on a transparent canvas-sized RGBA image, opacity in alpha."""
    out = np.zeros((height, width, 4), np.uint8)
    l, t = max(0, layer.x), max(0, layer.y)
    r, b = min(width, layer.x + layer.width), min(height, layer.y + layer.height)
    if r > l and b > t:
        out[t:b, l:r] = layer.pixels[t - layer.y:b - layer.y, l - layer.x:r - layer.x]
        if layer.opacity < 1.0:
            a = out[t:b, l:r, 3].astype(np.float32) * layer.opacity
            out[t:b, l:r, 3] = np.round(a).astype(np.uint8)
    return out


def _png_bytes(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG", compress_level=6)
    return buf.getvalue()


png_bytes = _png_bytes


def layer_png(layer: Layer) -> bytes:
    """The layer's own pixels (its size, not the canvas's) as a PNG; 1x1 transparent when empty."""
    if layer.width == 0 or layer.height == 0:  # a PNG cannot be empty: 1x1 transparent
        return _png_bytes(np.zeros((1, 1, 4), np.uint8))
    return _png_bytes(np.ascontiguousarray(layer.pixels))


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters, lone surrogates)."""
    return _XML_BAD.sub("", str(text))


def _layer_pngs(doc: Document) -> Iterator[tuple[str, bytes]]:
    for name, layer in zip(layer_file_names(doc), doc.layers):
        if layer.group is not None:  # its groups' opacity belongs in its alpha too
            layer = layer.copy(opacity=doc.effective(layer)[1])
        yield name, _png_bytes(layer_on_canvas(layer, doc.width, doc.height))


def export_flat_png(doc: Document, path: str | os.PathLike) -> None:
    """The composite (visible layers) as one RGBA PNG, saved atomically."""
    data = _png_bytes(composite(doc))
    with atomic_write(path) as fh:
        fh.write(data)


def export_layers_png(doc: Document, folder: str | os.PathLike) -> list[Path]:
    """One PNG per layer into ``folder`` (created if needed); returns the paths written."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputFileError(f"Could not export layers: {target.name} is a file, not a folder.",
                              "Choose a folder (or a new folder name) for the layer PNGs.")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error_from_os(target, exc) from None
    written = []
    for name, data in _layer_pngs(doc):
        path = target / name
        with atomic_write(path) as fh:
            fh.write(data)
        written.append(path)
    return written


def export_layers_zip(doc: Document, path: str | os.PathLike) -> None:
    """The per-layer PNGs in one ZIP file, saved atomically."""
    with atomic_write(path) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, data in _layer_pngs(doc):
                zf.writestr(name, data)


# ----- layered exports: what a format cannot express ---------------------------------------------
@dataclass(frozen=True)
class Capabilities:
    """What a layered format can hold besides pixels, offset, opacity and visibility."""

    label: str  # the format's name in warnings: "OpenRaster", "SVG", "PowerPoint"
    blend_modes: frozenset = frozenset({BlendMode.NORMAL})


def _drawn(layers, region) -> np.ndarray:
    """Premultiplied float composite of ``layers`` over ``region`` (the compositor's own rules)."""
    from ..document.compositing import composite_layers

    return composite_layers(layers, 0, 0, region, premultiplied=True)


def _baked_pixels(below: tuple[Layer, ...], layer: Layer, keep_color: bool) -> tuple[np.ndarray, int]:
    """``layer`` over the layers ``below`` as one normal-mode layer that composites the same.

    The compositor draws a layer as ``d = a Cs' + (1 - a) d`` with
    ``Cs' = (1 - ab) Cs + ab B(Cb, Cs)`` and ``a`` its alpha times fill and
    mask. Drawn alone over transparency it gives ``a``; drawn over the
    visible layers below it gives the result, from which ``Cs'`` follows.
    Opacity stays out (the formats keep it). With ``keep_color`` (normal
    mode) only the alpha changes.

    Returns the pixels and the largest colour error in levels: a special
    fill over a semi-transparent backdrop has no exact single-layer form
    (the alpha is fixed by the result, and the colour it asks for lies
    outside 0..1), so the caller can say the look was approximated.
    """
    shown = layer.copy(opacity=1.0, visible=True)
    region = layer.bbox
    a = _drawn([shown], region)[..., 3]
    out = np.empty((layer.height, layer.width, 4), np.uint8)
    out[..., 3] = np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    if keep_color:
        out[..., :3] = layer.pixels[..., :3]
        return out, 0
    backdrop = _drawn(below, region)
    result = _drawn((*below, shown), region)
    some = a[..., None] > 1e-6
    color = (result[..., :3] - (1.0 - a[..., None]) * backdrop[..., :3]) / np.where(some, a[..., None], 1.0)
    color = np.where(some, color, layer.pixels[..., :3] * np.float32(1.0 / 255.0))
    clipped = np.clip(color, 0.0, 1.0)
    # seen in the straight composite: premultiplied error a |dC| over the result's alpha
    weight = a / np.maximum(result[..., 3], np.float32(1e-6))
    error = int(np.ceil(float(np.max(np.abs(color - clipped) * weight[..., None], initial=0.0)) * 255.0 - 1e-3))
    out[..., :3] = np.round(clipped * 255.0).astype(np.uint8)
    return out, max(error, 0)


_PLAIN = {"mask": None, "clipping": False, "fill_opacity": 1.0}


def _plain(layer: Layer, **changes) -> Layer:
    """A copy without mask, clipping and fill (the fields this document model has)."""
    extra = {k: v for k, v in _PLAIN.items() if hasattr(layer, k)}
    return layer.copy(**extra, **changes)


def _merge_clip_group(base: Layer, clips: list[Layer], caps: Capabilities, warn) -> Layer:
    """A base and the layers clipped to it as one layer (the format has no clipping)."""
    shown = base.copy(opacity=1.0, visible=True)
    pixels = _drawn([shown, *clips], base.bbox)
    from ..document.compositing import to_straight_uint8

    names = ", ".join(f'"{c.name}"' for c in clips)
    hidden = [c.name for c in clips if not c.visible]
    warn(f'Layer "{base.name}": {caps.label} has no clipping masks, so the layer(s) clipped to it '
         f"({names}) were merged into it" + (" (hidden ones left out)" if hidden else "") + ".")
    return _plain(base, pixels=to_straight_uint8(pixels))


def _tree(doc: Document) -> list:
    """The layers as nested items, bottom first: a layer, or (group, [items inside])."""
    root: list = []
    stack: list[tuple[Group, list]] = []
    for layer in doc.layers:
        chain = doc.layer_chain(layer)
        common = 0
        while common < min(len(stack), len(chain)) and stack[common][0] is chain[common]:
            common += 1
        del stack[common:]
        for group in chain[common:]:
            items: list = []
            (stack[-1][1] if stack else root).append((group, items))
            stack.append((group, items))
        (stack[-1][1] if stack else root).append(layer)
    return root


def _subtree_layers(items: list) -> list[Layer]:
    out = []
    for item in items:
        out.extend(_subtree_layers(item[1]) if isinstance(item, tuple) else [item])
    return out


def _foldable(group: Group, items: list) -> bool:
    """Whether the group's layers, each with the group's visibility and opacity folded in,
    draw the same picture as the group: no mask, and either one layer or a pass-through
    (or Normal group of Normal layers) at full opacity."""
    if group.mask is not None and not group.mask.disabled:
        return False
    layers = _subtree_layers(items)
    if len([ly for ly in layers if ly.visible]) <= 1 and group.pass_through:
        return True
    if group.opacity < 1.0:
        return False
    if group.pass_through:
        return all(_foldable(it[0], it[1]) for it in items if isinstance(it, tuple))
    return group.blend_mode == BlendMode.NORMAL and all(
        ly.blend_mode == BlendMode.NORMAL for ly in layers) and all(
        _foldable(it[0], it[1]) for it in items if isinstance(it, tuple))


def ungroup_layers(doc: Document, label: str = "This format",
                   warn: Callable[[str], None] | None = None) -> list[Layer]:
    """The document's layers, bottom first, for a format without groups.

    A group that draws the same as its layers (see ``_foldable``) is folded
    into them: each gets the group path in its name and the groups'
    visibility and opacity. Any other group (a blend mode, a mask, a faded
    group of overlapping layers) is merged into one layer with the group's
    blend mode, opacity and mask, so the picture stays the same; a warning
    names it.
    """
    if not doc.groups or all(ly.group is None for ly in doc.layers):
        return list(doc.layers)
    warn = warn or (lambda message: None)
    out: list[Layer] = []

    def emit(items: list, path: str, visible: bool, opacity: float) -> None:
        for index, item in enumerate(items):
            if not isinstance(item, tuple):
                out.append(item.copy(name=path + item.name, group=None, visible=visible and item.visible,
                                     opacity=opacity * item.opacity))
                continue
            group, inner = item
            name = path + group.name
            after = items[index + 1] if index + 1 < len(items) else None
            clipped_to = after is not None and not isinstance(after, tuple) and after.clipping
            if _foldable(group, inner) and not clipped_to:  # layers clipped to it need one base
                emit(inner, name + "/", visible and group.visible, opacity * group.opacity)
                continue
            out.append(_merged_group(doc, group, inner, name, visible, opacity))
            what = ("picture, which the layers clipped to it are clipped to," if clipped_to else
                    "a layer mask" if group.mask is not None else
                    f"the {group.blend_mode.label} blend mode" if not group.pass_through
                    and group.blend_mode != BlendMode.NORMAL else
                    f"{group.opacity:.0%} opacity over overlapping layers")
            warn(f'Group "{name}": {label} has no layer groups, and the group\'s {what} applies to '
                 "its layers together, so they were merged into one layer of that name.")

    emit(_tree(doc), "", True, 1.0)
    return out


def _merged_group(doc: Document, group: Group, items: list, name: str, visible: bool,
                  opacity: float) -> Layer:
    """A group drawn on its own (isolated) as one layer with the group's mode, opacity and mask."""
    from ..document.compositing import composite_layers

    layers = _subtree_layers(items)
    shown = [ly for ly in layers if ly.width and ly.height]
    groups = {gid: g.copy() for gid, g in doc.groups.items()}
    groups[group.id] = group.copy(parent=None, visible=True, opacity=1.0, mask=None,
                                  blend_mode=BlendMode.NORMAL)
    if shown:
        left, top = min(ly.x for ly in shown), min(ly.y for ly in shown)
        right, bottom = max(ly.x + ly.width for ly in shown), max(ly.y + ly.height for ly in shown)
        pixels = composite_layers(layers, 0, 0, (left, top, right, bottom), groups=groups)
    else:
        left = top = 0
        pixels = np.zeros((0, 0, 4), np.uint8)
    return Layer(pixels, name=name, x=left, y=top, visible=visible and group.visible,
                 opacity=opacity * group.opacity,
                 blend_mode=BlendMode.NORMAL if group.pass_through else group.blend_mode,
                 mask=group.mask)


def export_layers(doc: Document, caps: Capabilities, warn: Callable[[str], None]) -> list[Layer]:
    """The document's layers, bottom first, as ``caps`` can hold them, with a warning per change.

    Blend modes the format lacks, masks and special fill opacity are baked
    into the pixels (the picture stays the same over the same layers
    below); fill opacity of an ordinary mode is multiplied into opacity;
    layers clipped to a layer are merged into it.
    """
    from ..document import compositing

    special_modes = getattr(compositing, "SPECIAL_FILL_MODES", frozenset())
    if compositing.working_space(doc) is not None:  # a CMYK file, blended in CMYK here
        rgb = compositing.composite_layers(doc.layers, doc.width, doc.height, groups=doc.groups)
        error = int(np.abs(rgb.astype(np.int16) - compositing.composite(doc)).max(initial=0))
        if error > 1:
            warn(f"{caps.label} holds RGB layers: this CMYK file's layers are blended in CMYK "
                 "here, other programs blend them as RGB, so where layers mix the picture is "
                 f"approximate (up to {error} levels off).")
    layers = tuple(ungroup_layers(doc, caps.label, warn))
    out = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        below = layers[:i]
        j = i + 1
        while j < len(layers) and getattr(layers[j], "clipping", False):
            j += 1
        if j > i + 1:
            layer = _merge_clip_group(layer, list(layers[i + 1:j]), caps, warn)
        elif getattr(layer, "clipping", False):
            layer = layer.copy(clipping=False)  # nothing below to clip to: drawn unclipped anyway
        i = j
        name, mode = layer.name, layer.blend_mode
        fill = float(getattr(layer, "fill_opacity", 1.0))
        mask = getattr(layer, "mask", None)
        has_mask = mask is not None and not getattr(mask, "disabled", False) and layer.width > 0
        special_fill = fill < 1.0 and mode in special_modes  # fill changes the blend itself
        unsupported = mode not in caps.blend_modes
        blends = compositing.blend_function(mode) is not None
        gamma = getattr(layer, "blend_gamma", 1.0) != 1.0  # text mixed at Photoshop's text gamma
        dissolve = unsupported and mode == BlendMode.DISSOLVE  # its pixel pattern baked into alpha
        bake_color = ((unsupported and blends) or special_fill or gamma) and layer.width > 0
        opacity = layer.opacity
        if dissolve:
            warn(f'Layer "{name}": {caps.label} has no Dissolve blend mode; its dissolved pixels '
                 "were baked into its transparency (Normal mode).")
        if fill < 1.0 and not special_fill:
            opacity *= fill
            layer = layer.copy(fill_opacity=1.0)
            warn(f'Layer "{name}": {caps.label} has no fill opacity; its fill of {fill:.0%} was '
                 "multiplied into the layer opacity.")
        changes: dict = {}
        if bake_color or has_mask or (dissolve and layer.width > 0):
            changes["pixels"], error = _baked_pixels(below, layer, keep_color=not bake_color)
            if gamma:
                changes["blend_gamma"] = 1.0
            if bake_color:
                what = f"{mode.label} blend mode" + (f" at {fill:.0%} fill" if special_fill else "")
                if gamma and not special_fill and not (unsupported and blends):
                    what = "text blending (Photoshop's text gamma)"
                warn(f'Layer "{name}": {caps.label} cannot express its {what}; its look over the '
                     "layers below was baked into its pixels (Normal mode), so it no longer blends "
                     "if it is moved or what is under it changes.")
            if error > 1:
                warn(f'Layer "{name}": over the semi-transparent parts below it the baked look is '
                     f"approximate (up to {error} levels off).")
            if has_mask:
                warn(f'Layer "{name}": {caps.label} has no layer masks; the mask was applied to the '
                     "layer's transparency.")
        if unsupported or bake_color:
            changes["blend_mode"] = BlendMode.NORMAL
        if opacity != layer.opacity:
            changes["opacity"] = opacity
        if changes or mask is not None or fill < 1.0:
            layer = _plain(layer, **changes)
        out.append(layer)
    return out


@dataclass
class SaveResult:
    """What :func:`export_document` wrote: the kind (``psd``, ``ora``...), the path, and the
    warnings about what the format could not hold."""

    kind: str
    path: Path
    warnings: list[str] = field(default_factory=list)


def export_document(doc: Document, path: str | os.PathLike, *, linked: bool = False) -> SaveResult:
    """Save ``doc`` in the format its path names (see :mod:`.formats`), atomically.

    A path that is an existing folder, ends with a separator or has no
    extension is taken as a folder for per-layer PNGs. ``linked`` (SVG only)
    writes the layer PNGs beside the file instead of inside it.
    """
    from .formats import format_for_path, save_extensions_text

    raw = os.fspath(path)
    p = Path(raw)
    warnings: list[str] = []
    if p.is_dir() or raw.endswith(("/", os.sep)) or not p.suffix:
        if linked:
            raise UsageError("--linked applies to SVG only.", "Name the output file something.svg.")
        export_layers_png(doc, p)
        return SaveResult("folder", p, warnings)
    fmt = format_for_path(p)
    if fmt is None or fmt.write is None:
        raise UsageError(f"Cannot save as '{p.suffix.lower()}' ({p.name}).",
                         f"Use {save_extensions_text()} or a folder name.")
    if linked and not fmt.linkable:
        raise UsageError(f"--linked applies to SVG only, not to {fmt.label} ({p.name}).",
                         "Leave out --linked, or save as .svg.")
    options = {"linked": True} if linked else {}
    fmt.write(doc, p, warnings.append, **options)
    return SaveResult(fmt.key, p, warnings)


def save_document(doc: Document, path: str | os.PathLike, *, linked: bool = False,
                  on_warning: Callable[[str], None] | None = None) -> str:
    """Save by the target's kind (:func:`export_document`); returns the kind used.

    Each warning (something the format cannot hold, baked or dropped) goes
    to ``on_warning``; without one they are issued as :class:`ExportWarning`
    so they are never lost silently.
    """
    result = export_document(doc, path, linked=linked)
    for message in result.warnings:
        if on_warning is not None:
            on_warning(message)
        else:
            import warnings

            warnings.warn(message, ExportWarning, stacklevel=2)
    return result.kind


class ExportWarning(UserWarning):
    """A format could not hold something of a layer; it was baked or dropped (the message says which)."""
