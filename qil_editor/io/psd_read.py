"""Read PSD/PSB files into a :class:`Document` with psd-tools.

What a designer gets:

* Every pixel layer, with its unicode name, offset, opacity, visibility and
  blend mode. Layers of zero size stay (as 0x0 layers).
* By default groups are flattened into the layer list; the group path becomes part of
  the name ("Group/Sub/Layer"). (``read_psd(..., groups=True)`` keeps them as
  document groups instead: see ``document/group.py``.) A hidden group hides its layers; group
  opacity multiplies into each layer's; a group with its own (non pass-
  through, non normal) blend mode hands it to children in normal mode. Exact
  for one-layer groups; for overlapping layers inside a faded or blended
  group it is the usual approximation of flattening a group.
* Layer masks stay masks (``Layer.mask``, with density and feather); a
  group's mask is combined into each of its layers' masks. Fill opacity
  and clipping stay layer properties the compositor draws (clipping groups
  as Photoshop does: clipped layers inside the base, at the base's opacity).
  A layer clipped to a group gets the group's shape baked into its alpha.
* Text, shape and smart-object layers keep the raster Photoshop stored for
  them (what Photoshop shows). Fill layers without pixels, layers with
  enabled effects and pixel layers with vector masks are rasterized by
  psd-tools (``composite``, with their own mask and fill opacity in it;
  it draws strokes and overlays); drop shadows, glows, inner shadows, satin
  and inner bevels, which it does not draw, are added by
  ``document/effects.py`` with Photoshop's kernels (the bevel approximately);
  other bevel/emboss styles are missing. Text layers blend at Photoshop's
  text gamma (``Layer.blend_gamma``).
* Adjustment layers change what is below them; a layer cannot carry that,
  so each becomes a baked layer: psd-tools' composite of everything below
  with the adjustment applied (named "<name> (adjustment, baked)"), which
  replaces what is below it (``Layer.knockout == REPLACE``) rather than
  covering it, so semi-transparent areas are not doubled.
* 8/16/32-bit, grayscale, indexed, bitmap, CMYK and PSB files. 32-bit
  (linear) values are shown with the sRGB curve, as Photoshop's 8-bit view does.
* A file with no layers becomes one layer from its merged image.

The document keeps the parsed file (``doc.source``, a
:class:`~qil_editor.document.source.PsdSource`): each layer's record, and
every feature shown as plain pixels, so a save can keep what was not
touched and say what else would change (``doc.save_losses()``).
"""

from __future__ import annotations

import contextlib
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..document import BlendMode, Document, Layer, LayerMask
from ..document.compositing import REPLACE
from ..document.effects import apply_effects
from ..document.group import Group
from ..document.source import GroupOrigin, LayerOrigin, PsdSource, SourceFeature
from ..errors import InputFileError, QilError
from . import psd_guard
from .files import check_input_path, damage_detail, input_error_from_os
from .limits import DEFAULT_MAX_PIXELS, check_memory, check_pixels, memory_budget
from .pixels import pil_to_rgba

TEXT_GAMMA = 1.45  # Photoshop's default "Blend Text Colors Using Gamma" (Color Settings)
PSD_TOOLS_MAX_SIDE = 30000  # psd-tools refuses larger layers, even in PSB files
_COLOR_MODES = {0: "Bitmap", 1: "Grayscale", 2: "Indexed", 3: "RGB", 4: "CMYK",
                7: "Multichannel", 8: "Duotone", 9: "Lab"}


@dataclass(frozen=True)
class PsdHeader:
    version: int  # 1 PSD, 2 PSB
    channels: int
    width: int
    height: int
    depth: int
    color_mode: int


def _damaged(path: Path, detail: str = "") -> InputFileError:
    detail = detail.strip().rstrip(".")
    return InputFileError(
        f"{path.name} is a damaged or incomplete Photoshop file"
        + (f" ({detail})." if detail else "."),
        "It may have been cut off while copying or downloading. Get a fresh copy or save it again "
        "from Photoshop.")


def parse_psd_header(path: Path) -> PsdHeader:
    try:
        with open(path, "rb") as fh:
            head = fh.read(26)
    except OSError as exc:
        raise input_error_from_os(path, exc) from None
    if len(head) < 26 or head[:4] != b"8BPS":
        raise _damaged(path, "the file header is cut short")
    version, channels, height, width, depth, mode = struct.unpack(">H6xHIIHH", head[4:26])
    if version not in (1, 2) or not 1 <= channels <= 56 or depth not in (1, 8, 16, 32) \
            or mode not in _COLOR_MODES or width == 0 or height == 0:
        raise _damaged(path, "the file header has impossible values")
    return PsdHeader(version, channels, width, height, depth, mode)


def read_psd_header(path: str | Path):
    """Header facts as a :class:`~qil_editor.io.image_open.SourceInfo`."""
    from .image_open import SourceInfo
    p = check_input_path(path)
    h = parse_psd_header(p)
    mode = _COLOR_MODES[h.color_mode]
    color_channels = {0: 1, 1: 1, 2: 1, 3: 3, 4: 4, 9: 3}.get(h.color_mode, h.channels)
    if h.channels > color_channels and h.color_mode in (1, 3, 4, 9):
        mode += " + alpha"
    return SourceInfo(str(p), "PSB" if h.version == 2 else "PSD", h.width, h.height, mode, h.depth)


# ----- pixels of one psd-tools layer ---------------------------------------------
def _linear_to_display(values: np.ndarray) -> np.ndarray:
    """32-bit (linear light) values encoded with the sRGB curve, as Photoshop converts its
    Linear RGB profile for display (psd-tools' 32bit.psd: merged image within 5 levels,
    a plain 2.2 gamma was 10 off)."""
    v = np.clip(values, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1.0 / 2.4) - 0.055)


def _float_to_u8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def _deep_float_rgba(arr: np.ndarray, color_planes: int) -> np.ndarray:
    """32-bit float layer array (color planes + optional alpha) -> RGBA uint8."""
    color = _linear_to_display(arr[..., :color_planes])
    if color_planes == 1:
        color = np.repeat(color, 3, axis=2)
    out = np.empty(arr.shape[:2] + (4,), np.uint8)
    out[..., :3] = _float_to_u8(color[..., :3])
    out[..., 3] = _float_to_u8(arr[..., color_planes]) if arr.shape[2] > color_planes else 255
    return out


def _apply_icc(psd) -> bool:
    # CMYK and Lab need their profile to become RGB; grayscale files are shown
    # as raw gray values (as Photoshop's merged data and most readers do).
    return psd.color_mode in (4, 9)


def _cmyk_to_rgb(color: np.ndarray, psd) -> np.ndarray:
    """psd-tools' composite colour of a CMYK file (ink left, 1.0 = none) as RGB 0..1,
    through the file's ICC profile like its layers' pixels (plain formula without one)."""
    from psd_tools.constants import Resource
    from PIL import Image, ImageCms

    left = np.clip(color[..., :4], 0.0, 1.0)
    profile = psd.image_resources.get_data(Resource.ICC_PROFILE) if psd.image_resources else None
    if profile:
        import io

        ink = np.ascontiguousarray(np.round((1.0 - left) * 255.0).astype(np.uint8))
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            rgb = ImageCms.profileToProfile(Image.fromarray(ink, "CMYK"), src,
                                            ImageCms.createProfile("sRGB"), outputMode="RGB")
            return np.asarray(rgb, np.float32) * np.float32(1.0 / 255.0)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return left[..., :3] * left[..., 3:4]


def _lab_to_rgb(color: np.ndarray) -> np.ndarray:
    """psd-tools' composite colour of a Lab file (channels 0..1 as stored) as sRGB 0..1."""
    from PIL import Image

    from .pixels import pil_to_rgba

    lab = np.ascontiguousarray(np.round(np.clip(color[..., :3], 0.0, 1.0) * 255.0).astype(np.uint8))
    return pil_to_rgba(Image.fromarray(lab, "LAB"))[..., :3].astype(np.float32) * np.float32(1.0 / 255.0)


def _stored_cmyk(layer, psd, shape) -> np.ndarray | None:
    """A CMYK file's layer colour as stored (uint8, 255 = no ink), for compositing in
    CMYK (:mod:`qil_editor.document.cmyk`); None for other files or another size."""
    if psd.color_mode != 4:
        return None
    im = layer.topil(apply_icc=False)
    if im is None or im.mode != "CMYK":
        return None
    ink = np.asarray(im, np.uint8)
    return 255 - ink if ink.shape[:2] == tuple(shape[:2]) else None


def _raw_pixels(layer, psd) -> np.ndarray | None:
    """The layer's own stored pixels as RGBA uint8, before masks and opacity."""
    if psd.depth == 32 and psd.color_mode in (1, 3):
        arr = layer.numpy()
        if arr is None:
            return None
        return _deep_float_rgba(np.asarray(arr, np.float32), 1 if psd.color_mode == 1 else 3)
    im = layer.topil(apply_icc=_apply_icc(psd))
    if im is None:
        return None
    rgba = pil_to_rgba(im)
    if im.mode in ("CMYK", "RGB", "L") and _has_transparency(layer):
        from psd_tools.constants import ChannelID
        alpha = layer.topil(channel=ChannelID.TRANSPARENCY_MASK)
        if alpha is not None and alpha.size == im.size:
            rgba[..., 3] = np.asarray(alpha.convert("L"))
    return rgba


def _has_transparency(layer) -> bool:
    try:
        return any(info.id == -1 for info in layer._record.channel_info)
    except AttributeError:
        return False


def _effect_rgb(color) -> tuple[float, float, float] | None:
    """An effect's colour descriptor as RGB 0..1 (RGB or grey); None for other spaces."""
    try:
        if b"Rd  " in color:
            return tuple(float(color[k]) / 255.0 for k in (b"Rd  ", b"Grn ", b"Bl  "))
        if b"Gry " in color:
            v = 1.0 - float(color[b"Gry "]) / 100.0
            return (v, v, v)
    except (TypeError, ValueError, KeyError):
        return None
    return None


_EFFECT_KINDS = {"DropShadow": "drop_shadow", "OuterGlow": "outer_glow",
                 "InnerShadow": "inner_shadow", "InnerGlow": "inner_glow", "Satin": "satin"}


def _contour_points(effect) -> tuple:
    try:
        curve = effect.contour[b"Crv "]
        return tuple((float(pt[b"Hrzn"]), float(pt[b"Vrtc"])) for pt in curve)
    except (TypeError, KeyError, ValueError):
        return ()


def _bevel(effect):
    """An enabled inner bevel as an :class:`Effect` (other bevel and emboss styles: None)."""
    from ..document.effects import Effect

    style = getattr(getattr(effect, "bevel_style", None), "value", b"")
    if not effect.enabled or style != b"InrB":
        return None
    high = _effect_rgb(effect.highlight_color or {})
    low = _effect_rgb(effect.shadow_color or {})
    if high is None or low is None:
        return None

    def mode(value):
        return BlendMode.from_psd_key(value.value) if hasattr(value, "value") else BlendMode.NORMAL

    direction = getattr(getattr(effect, "direction", None), "value", b"In  ")
    return Effect("bevel", high, opacity=float(effect.highlight_opacity or 0.0) / 100.0,
                  blend_mode=mode(effect.highlight_mode), size=float(effect.size or 0.0),
                  angle=float(effect.angle or 0.0), altitude=float(effect.altitude or 0.0),
                  depth=float(effect.depth or 0.0), up=direction != b"Out ",
                  soften=float(effect.soften or 0.0), shadow_color=low,
                  shadow_opacity=float(effect.shadow_opacity or 0.0) / 100.0,
                  shadow_mode=mode(effect.shadow_mode))


def _layer_effects(layer) -> list:
    """The layer's enabled shadows, glows and satin as :class:`Effect` records
    (what psd-tools does not draw; it draws overlays and strokes itself)."""
    from ..document.effects import Effect

    out = []
    for effect in layer.effects:
        if type(effect).__name__ == "BevelEmboss":
            bevel = _bevel(effect)
            if bevel is not None:
                out.append(bevel)
            continue
        kind = _EFFECT_KINDS.get(type(effect).__name__)
        if kind is None or not effect.enabled:
            continue
        rgb = _effect_rgb(getattr(effect, "color", None) or {})
        if rgb is None:
            continue
        value = effect.value
        number = lambda key, default=0.0: float(value.get(key, default) or default)  # noqa: E731
        source = value.get(b"glwS")
        out.append(Effect(
            kind, rgb, opacity=float(effect.opacity or 0.0) / 100.0,
            blend_mode=BlendMode.from_psd_key(effect.blend_mode.value)
            if hasattr(effect.blend_mode, "value") else BlendMode.NORMAL,
            size=float(getattr(effect, "size", 0.0) or 0.0),
            spread=float(getattr(effect, "choke", 0.0) or 0.0),
            distance=float(getattr(effect, "distance", 0.0) or 0.0),
            angle=float(getattr(effect, "angle", 0.0) or 0.0),
            range=number(b"Inpr", 100.0), contour=_contour_points(effect),
            conceals=bool(value.get(b"layerConceals", True)),
            source_center=getattr(source, "enum", b"") == b"SrcC",
            invert=bool(value.get(b"Invr", True))))
    return out


def _rendered_pixels(layer, psd) -> tuple[np.ndarray, int, int, np.ndarray | None]:
    """Rasterize a layer that needs psd-tools' renderer (text, shapes, effects...).

    Rendered over transparency with the layer's own opacity divided back
    out (it stays a layer property); the result is cropped to what is drawn.
    The fourth value is a CMYK file's colour as drawn (see ``_stored_cmyk``).
    Drawn at the layer's own extent (``psd_guard.render_box``); effects need
    their neighbourhood, so a layer with effects is drawn over the canvas
    and its box. A plain solid-colour fill is drawn by ``psd_guard`` at
    uint8 straight into the result (psd-tools would paint its whole box in
    float32: gigabytes for a fill on a 16384-pixel canvas).
    """
    from psd_tools.composite import composite as ps_composite

    box = psd_guard.render_box(layer, psd)
    w, h = box[2] - box[0], box[3] - box[1]
    if w <= 0 or h <= 0:
        return np.zeros((0, 0, 4), np.uint8), 0, 0, None

    stored: list = []  # a CMYK file's colour as psd-tools drew it (ink left)

    def to_rgba(color, alpha, out):
        color = np.asarray(color, np.float32)
        if color.ndim == 2:
            color = color[..., None]
        planes = color.shape[2]
        if psd.color_mode == 4 and planes >= 4:  # CMYK -> RGB through the file's profile
            stored.append(_float_to_u8(color[..., :4]))
            color = _cmyk_to_rgb(color, psd)
        elif psd.color_mode == 9 and planes >= 3:
            color = _lab_to_rgb(color)
        elif planes == 1:
            color = np.repeat(color, 3, axis=2)
        if psd.depth == 32:
            color = _linear_to_display(color)
        out[..., :3] = _float_to_u8(color[..., :3])
        if alpha is not None:
            out[..., 3] = _float_to_u8(alpha[..., 0] if alpha.ndim == 3 else alpha)

    rgba = np.empty((h, w, 4), np.uint8)
    solid = psd_guard.solid_fill(layer)
    if solid is not None:
        color, mask = solid
        pixel = np.empty((1, 1, 4), np.uint8)
        to_rgba(np.array(color, np.float32).reshape(1, 1, -1), None, pixel)
        psd_guard.fill_solid(rgba, pixel[0, 0, :3], psd_guard.solid_fill_alpha(layer, mask, box))
        if stored:
            stored[0] = np.broadcast_to(stored[0], (h, w, 4))
    else:
        with _unclipped(layer):  # psd-tools draws a clipped layer only through its base
            color, shape, alpha = ps_composite(layer, color=0.0, alpha=0.0, viewport=box,
                                               layer_filter=lambda ly: ly is layer)  # not its clips
        opacity = layer.opacity / 255.0
        if opacity > 0:
            alpha = np.clip(alpha / opacity, 0.0, 1.0)
        to_rgba(color, alpha, rgba)
        del color, alpha
        effects = _layer_effects(layer) if layer.has_effects(enabled=True) else []
        if effects:  # shadows, glows, satin: drawn from the layer's shape (before fill opacity)
            shape = np.asarray(shape, np.float32)
            rgba = apply_effects(rgba, effects, shape[..., 0] if shape.ndim == 3 else shape)
            stored.clear()  # drawn in RGB: the compositor converts the result instead
        del shape
    drawn = rgba[..., 3]
    rows = np.flatnonzero(drawn.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 0, 4), np.uint8), 0, 0, None
    cols = np.flatnonzero(drawn.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (y0, y1, x0, x1) != (0, h, 0, w):
        rgba = np.ascontiguousarray(rgba[y0:y1, x0:x1])
    cmyk = np.ascontiguousarray(stored[0][y0:y1, x0:x1]) if stored else None
    return rgba, box[0] + x0, box[1] + y0, cmyk


@contextlib.contextmanager
def _full_strength(groups):
    """psd-tools draws ``groups`` at full opacity without their masks for the duration;
    each record's values are put back exactly as read."""
    saved = []
    try:
        for group in groups:
            record = group._record
            saved.append((record, "opacity", record.opacity))
            record.opacity = 255
            if group.has_mask():
                flags = group.mask._data.flags
                saved.append((flags, "mask_disabled", flags.mask_disabled))
                flags.mask_disabled = True
            if group.has_vector_mask():
                data = group.vector_mask._data
                saved.append((data, "flags", data.flags))
                data.flags = data.flags | 4  # disabled
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


@contextlib.contextmanager
def _unclipped(layer):
    """The layer's record reads as not clipped while psd-tools draws it alone.

    Drawn on its own, a clipped layer comes out empty (psd-tools draws clip
    layers only as part of their base); the compositor clips it later. The
    record's flag is put back exactly as read.
    """
    record = getattr(layer, "_record", None)
    flag = getattr(record, "clipping", None)
    if record is None or not getattr(layer, "clipping", False):
        yield
        return
    from psd_tools.constants import Clipping

    record.clipping = Clipping.BASE
    try:
        yield
    finally:
        record.clipping = flag


@contextlib.contextmanager
def _older_effects_present(psd):
    """Let psd-tools see the effects of files from older Photoshop versions.

    Their effects descriptors have no ``present`` flag, which psd-tools
    requires before it lists (and draws) an effect, so a colour overlay or
    stroke would silently vanish. For the duration of the read each such
    effect gets ``present = True``; the flags are removed afterwards, so the
    records kept for saving are exactly as read.
    """
    from psd_tools.constants import Tag
    from psd_tools.psd.descriptor import Bool, Descriptor

    added = []
    keys = (Tag.OBJECT_BASED_EFFECTS_LAYER_INFO, Tag.OBJECT_BASED_EFFECTS_LAYER_INFO_V0,
            Tag.OBJECT_BASED_EFFECTS_LAYER_INFO_V1)
    for layer in psd.descendants():
        for key in keys:
            data = layer.tagged_blocks.get_data(key)
            if not isinstance(data, Descriptor):
                continue
            for name in list(data.keys()):
                value = data[name]
                for item in (value if isinstance(value, list) else [value]):
                    if isinstance(item, Descriptor) and b"enab" in item and b"present" not in item:
                        item[b"present"] = Bool(True)
                        added.append(item)
    try:
        yield
    finally:
        for item in added:
            del item[b"present"]


def _needs_render(layer) -> bool:
    """Whether psd-tools must draw the layer rather than us reading its stored raster.

    Photoshop stores a finished raster for text, shape and smart-object
    layers, which is exactly what it shows; only effects, a vector mask on a
    plain pixel layer, or a layer with no stored pixels (fill layers) need the
    renderer.
    """
    from psd_tools.api.layers import PixelLayer

    if layer.has_effects(enabled=True):
        return True
    if not layer.has_pixels():
        return not isinstance(layer, PixelLayer)
    return isinstance(layer, PixelLayer) and layer.has_vector_mask()


@dataclass
class _Leaf:
    pixels: np.ndarray
    x: int
    y: int
    name: str
    opacity: float
    visible: bool
    blend: BlendMode
    locked: bool
    source: object  # the psd-tools layer
    fill: float = 1.0
    clipping: bool = False
    mask: LayerMask | None = None
    chain: tuple = ()
    prefix: str = ""
    inherited_opacity: float = 1.0
    group_visible: bool = True
    derived: bool = False
    live: tuple = ()  # (kind, sentence) of record features a pixel edit loses
    group_id: str | None = None  # document group (when read with groups)
    synthetic: bool = False  # drawn from a group's record (an artboard's background), no record of its own
    gamma: float = 1.0  # Layer.blend_gamma: TEXT_GAMMA for text layers
    knockout: int = 0  # Layer.knockout: 0 none, 1 shallow, 2 deep
    cmyk: np.ndarray | None = None  # a CMYK file's colour as stored (CmykSpace)
    style: bool = False  # a group's layer style drawn as a layer ("<group> (effects)")
    effects: tuple = ()  # that style's effects, kept to redraw it (document.group_styles)


def _locked(layer) -> bool:
    """Locked when everything, the pixels or the position are protected in Photoshop."""
    locks = layer.locks
    if locks is None:
        return False
    return bool(locks.complete or locks.composite or locks.position)


def _layer_mask(owner, *, keep_disabled: bool = False) -> LayerMask | None:
    """A psd-tools layer's (or group's) pixel mask, with density and feather. A disabled
    mask draws nothing; it is kept (``disabled=True``) only where the document holds the
    owner's own mask, so the designer can turn it back on after a reopen."""
    if not owner.has_mask():
        return None
    mask = owner.mask
    if mask.disabled and not keep_disabled:
        return None
    im = mask.topil()
    plane = (np.asarray(im.convert("L"), np.uint8) if im is not None
             else np.zeros((0, 0), np.uint8))
    density, feather = 255, 0.0
    params = mask.parameters
    if params is not None:
        # a mask "from render" is the vector mask drawn as pixels: its density is the
        # vector mask's (psd-tools' passthrough_vector_mask, 50 %: 9.8 mean -> 0)
        rendered = bool(getattr(mask._data.flags, "user_mask_from_render", False))
        user_density, user_feather = params.user_mask_density, params.user_mask_feather
        if rendered and user_density is None:
            user_density = params.vector_mask_density
        if rendered and not user_feather:
            user_feather = params.vector_mask_feather
        if user_density is not None:
            density = user_density
        if user_feather:
            feather = float(user_feather)
    return LayerMask(plane, x=mask.left, y=mask.top, default=mask.background_color,
                     density=density / 255.0, feather=feather, disabled=bool(mask.disabled))


def _mask_repeats_shape(layer) -> bool:
    """Whether a shape/fill layer's pixel mask is its own transparency again, pixel for
    pixel (Photoshop writes such files, PSBs among them): applying it would square the
    edge coverage, and Photoshop does not (psd-tools #885; its group.psb: max 64 -> 1)."""
    from psd_tools.api.layers import FillLayer, ShapeLayer

    if not isinstance(layer, (ShapeLayer, FillLayer)) or not layer.has_mask() or not layer.has_pixels():
        return False
    mask = layer.mask
    if mask.disabled or mask.real_flags is not None or mask.bbox != layer.bbox:
        return False
    params = mask.parameters
    if params is not None and any(d not in (None, 255) for d in (params.user_mask_density,
                                                                  params.vector_mask_density)):
        return False
    stored, shape = layer.numpy("mask", real_mask=True), layer.numpy("shape")
    return (stored is not None and shape is not None and stored.shape == shape.shape
            and bool(np.array_equal(stored, shape)))


def _combined_mask(masks: list[LayerMask], box: tuple[int, int, int, int]) -> LayerMask | None:
    """Several masks (a layer's and its groups') as one over ``box``. A lone disabled mask
    is kept as it is; combined with others it shows everything, so it drops out."""
    masks = [m for m in masks if m is not None]
    if len(masks) > 1:
        masks = [m for m in masks if not m.disabled]
    if len(masks) <= 1:
        return masks[0] if masks else None
    l, t, r, b = box
    if r <= l or b <= t:
        return masks[-1]
    factor = np.ones((b - t, r - l), np.float32)
    default = 1.0
    for m in masks:
        cov = m.coverage(box)
        if cov is not None:
            factor *= cov
        default *= m.default / 255.0 if not m.disabled else 1.0
    return LayerMask(np.round(factor * 255.0).astype(np.uint8), x=l, y=t,
                     default=int(round(default * 255)))


def _live_features(layer) -> tuple:
    """(kind, sentence) for what a layer's record holds beyond its pixels."""
    from psd_tools.api.layers import FillLayer, PixelLayer, ShapeLayer, SmartObjectLayer, TypeLayer

    name = layer.name
    out = []
    if isinstance(layer, TypeLayer):
        out.append(("text", f"live text layer '{name}' becomes pixels"))
    elif isinstance(layer, ShapeLayer):
        out.append(("shape", f"shape layer '{name}' becomes pixels"))
    elif isinstance(layer, SmartObjectLayer):
        out.append(("smart_object", f"smart object '{name}' becomes pixels"))
    elif isinstance(layer, FillLayer):
        out.append(("fill", f"fill layer '{name}' becomes pixels"))
    elif isinstance(layer, PixelLayer) and layer.has_vector_mask():
        out.append(("vector_mask", f"vector mask on '{name}' becomes pixels"))
    if layer.has_effects(enabled=False):
        out.append(("effects", f"layer effects on '{name}' become pixels"))
    return tuple(out)


def _knockout(layer) -> int:
    """Photoshop's knockout setting of a layer: 0 none, 1 shallow, 2 deep."""
    from psd_tools.constants import Tag

    value = layer.tagged_blocks.get_data(Tag.KNOCKOUT_SETTING, 0) if layer.tagged_blocks else 0
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 0
    return value if value in (1, 2) else 0


def _before_cs6(psd) -> bool:
    """Whether the file was saved by Photoshop CS5 or older (its version-info resource)."""
    import re

    from psd_tools.constants import Resource

    info = psd.image_resources.get_data(Resource.VERSION_INFO) if psd.image_resources else None
    reader = str(getattr(info, "reader", "") or "")
    found = re.search(r"Photoshop (?:CS(\d)|(\d+(?:\.\d+)?))\b", reader)
    if found is None or "CC" in reader:
        return False
    if found.group(1):
        return int(found.group(1)) < 6
    return float(found.group(2)) < 13.0  # "Photoshop 7.0"; "Photoshop 2021" is newer


def _text_gamma(layer, psd) -> float:
    """The gamma Photoshop mixes a text layer's edges at: TEXT_GAMMA, except for the
    "Windows" (platform grey) anti-aliasing, which it blends plainly (both measured on
    ag-psd's alias case: exact), and in files from CS5 and older, which show plain
    blending (psd-tools' text.psd, CS5: exact plain, 40 levels off with the gamma)."""
    from psd_tools.constants import Tag

    if _before_cs6(psd):
        return 1.0
    data = layer.tagged_blocks.get_data(Tag.TYPE_TOOL_OBJECT_SETTING)
    try:
        anti_alias = data.text_data.get(b"AntA").enum
    except AttributeError:
        return TEXT_GAMMA
    return 1.0 if anti_alias == b"antiAliasPlatformGray" else TEXT_GAMMA


def _leaf(layer, psd, path: str, opacity: float, visible: bool, group_blend: BlendMode | None,
          masks: list, max_pixels: int | None, file: Path) -> _Leaf:
    from psd_tools.api.layers import TypeLayer

    check_pixels(file, max(0, layer.width), max(0, layer.height), max_pixels, f"layer '{layer.name}'")
    if max(layer.width, layer.height) > PSD_TOOLS_MAX_SIDE:
        raise InputFileError(
            f"{file.name}: layer '{layer.name}' is {layer.width}x{layer.height} pixels; layers over "
            f"{PSD_TOOLS_MAX_SIDE} pixels a side cannot be read yet.",
            "Crop or scale that layer down in Photoshop, or open a flattened copy.")
    fill = 1.0
    if _needs_render(layer):
        # psd-tools draws the layer with its own mask and fill opacity in it
        pixels, x, y, cmyk = _rendered_pixels(layer, psd)
        own = list(masks)
        derived = True
    else:
        pixels = _raw_pixels(layer, psd)
        x, y = layer.left, layer.top
        if pixels is None or layer.width <= 0 or layer.height <= 0:
            pixels, x, y = np.zeros((0, 0, 4), np.uint8), layer.left, layer.top
        cmyk = _stored_cmyk(layer, psd, pixels.shape) if pixels.size else None
        own = list(masks) + ([] if _mask_repeats_shape(layer)
                             else [_layer_mask(layer, keep_disabled=True)])
        fill = layer.fill_opacity / 255.0
        derived = psd.depth == 32
    mask = _combined_mask(own, (x, y, x + pixels.shape[1], y + pixels.shape[0]))
    blend = BlendMode.from_psd_key(layer.blend_mode.value)
    if group_blend is not None and blend == BlendMode.NORMAL:
        blend = group_blend
    live = _live_features(layer)
    if not derived:  # effects drawn from stored pixels survive a pixel edit
        live = tuple(item for item in live if item[0] != "effects")
    return _Leaf(pixels, x, y, path + layer.name, opacity * layer.opacity / 255.0,
                 visible and layer.visible, blend, _locked(layer), layer, fill=fill,
                 mask=mask, prefix=path, inherited_opacity=opacity, group_visible=visible,
                 derived=derived, live=live,
                 gamma=_text_gamma(layer, psd) if isinstance(layer, TypeLayer) and psd.color_mode == 3
                 else 1.0, knockout=_knockout(layer), cmyk=cmyk)


def _baked_adjustment(layer, psd, order: list, path: str, visible: bool,
                      groups: tuple = ()) -> _Leaf:
    """An adjustment layer as a snapshot of everything below with it applied.

    ``groups``: the document groups it is drawn in (read with groups). Inside an isolated
    group the snapshot is that group's own picture so far (what the compositor's group
    buffer holds there: psd-tools' adjustment_nested_composition_5); the opacity and masks of
    that group and the pass-through groups inside it are left out, since the compositor
    applies them when it closes each group (counted twice they faded the picture twice:
    psd-tools' passthrough_opacity 31 mean -> 0)."""
    from psd_tools.composite import composite as ps_composite

    allowed = {id(ly) for ly in order}
    allowed.add(id(layer))
    # the innermost isolated group it is in: the snapshot is that group's picture so far
    isolated = [i for i, g in enumerate(groups) if g.blend_mode.value != b"pass"]
    start = isolated[-1] if isolated else 0
    with _full_strength(groups[start:]):
        color, _shape, alpha = ps_composite(
            groups[start] if isolated else psd, color=0.0, alpha=0.0, viewport=psd.viewbox,
            layer_filter=lambda ly: (ly.is_group() or id(ly) in allowed) and ly.is_visible())
    color = np.asarray(color, np.float32)
    if color.ndim == 2:
        color = color[..., None]
    if color.shape[2] == 1:
        color = np.repeat(color, 3, axis=2)
    cmyk = None
    if psd.color_mode == 4 and color.shape[2] >= 4:
        cmyk = _float_to_u8(color[..., :4])
        color = _cmyk_to_rgb(color, psd)
    elif psd.color_mode == 9 and color.shape[2] >= 3:
        color = _lab_to_rgb(color)
    rgba = np.empty(color.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = _float_to_u8(color[..., :3])
    rgba[..., 3] = _float_to_u8(alpha[..., 0] if alpha.ndim == 3 else alpha)
    # Its own and its groups' opacity are already in the snapshot.
    name = layer.name
    return _Leaf(rgba, 0, 0, f"{path}{name} (adjustment, baked)", 1.0,
                 visible and layer.visible, BlendMode.NORMAL, False, layer, prefix=path,
                 group_visible=visible, derived=True, knockout=REPLACE, cmyk=cmyk,
                 live=(("adjustment", f"adjustment layer '{name}' is baked into pixels"),))


def _artboard(layer) -> tuple[tuple[int, int, int, int], tuple[int, int, int] | None] | None:
    """An artboard's rectangle and background colour (None: transparent), or None if
    ``layer`` is not an artboard. Photoshop's background types: 1 white, 2 black,
    3 transparent, 4 the stored colour."""
    from psd_tools.constants import Tag

    data = None
    for key in (Tag.ARTBOARD_DATA1, Tag.ARTBOARD_DATA2, Tag.ARTBOARD_DATA3):
        data = layer.tagged_blocks.get_data(key, data)
    if data is None:
        return None
    l, t, r, b = layer.bbox
    if r <= l or b <= t:
        return None
    kind = int(data.get(b"artboardBackgroundType", 1) or 1)
    color: tuple[int, int, int] | None = None
    if kind == 1:
        color = (255, 255, 255)
    elif kind == 2:
        color = (0, 0, 0)
    elif kind == 4:
        rgb = _effect_rgb(data.get(b"Clr ") or {})
        color = tuple(int(round(v * 255)) for v in rgb) if rgb is not None else None
    return (l, t, r, b), color


def _artboard_parts(layer, path: str, opacity: float, visible: bool, parent_id, tree):
    """(clip mask, background leaf or None) of an artboard: Photoshop shows its layers
    only inside its rectangle, over its background colour."""
    found = _artboard(layer)
    if found is None:
        return None, None
    (l, t, r, b), color = found
    clip = LayerMask(np.full((b - t, r - l), 255, np.uint8), x=l, y=t, default=0)
    if color is None:
        return clip, None
    px = np.empty((b - t, r - l, 4), np.uint8)
    px[..., :3] = color
    px[..., 3] = 255
    name = f"{layer.name} (artboard background)"
    leaf = _Leaf(px, l, t, name if tree is not None else f"{path}{name}",
                 1.0 if tree is not None else opacity, True if tree is not None else visible,
                 BlendMode.NORMAL, True, layer, prefix=path, group_visible=visible,
                 synthetic=True)
    return clip, leaf


def _group_effects(group, psd, path: str, opacity: float, visible: bool, tree) -> _Leaf | None:
    """A group's drop shadows and outer glows as a layer under its contents, or None.

    Photoshop draws a group's layer style from the group's composite shape;
    the document has no group style, so the effects become a layer of their
    own ("<group> (effects)"), drawn from the group's record and never
    written back (like an artboard's background). Inner effects, strokes and
    overlays of groups are not drawn.
    """
    from psd_tools.composite import composite as ps_composite

    if not group.has_effects(enabled=True):
        return None
    effects = [e for e in _layer_effects(group) if e.kind in ("drop_shadow", "outer_glow")]
    if not effects:
        return None
    box = psd.viewbox
    _color, shape, _alpha = ps_composite(group, color=0.0, alpha=0.0, viewport=box)
    shape = np.asarray(shape, np.float32)
    shape = shape[..., 0] if shape.ndim == 3 else shape
    if not shape.any():
        return None
    blank = np.zeros(shape.shape + (4,), np.uint8)  # effects only: the contents are layers
    px = apply_effects(blank, effects, shape)
    rows = np.flatnonzero(px[..., 3].any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(px[..., 3].any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    px = np.ascontiguousarray(px[y0:y1, x0:x1])
    name = f"{group.name} (effects)"
    return _Leaf(px, box[0] + x0, box[1] + y0, name if tree is not None else f"{path}{name}",
                 1.0 if tree is not None else opacity, True if tree is not None else visible,
                 BlendMode.NORMAL, True, group, prefix=path, group_visible=visible,
                 synthetic=True, derived=True, style=True, effects=tuple(effects))


def _walk(group, psd, path: str, opacity: float, visible: bool, group_blend: BlendMode | None,
          masks: list, out: list[_Leaf], order: list, max_pixels, file: Path,
          chain: tuple = (), tree: dict | None = None, parent_id: str | None = None) -> None:
    """Collect the leaves. Flat (``tree`` None): group properties folded into
    each leaf and the group path in its name. With ``tree`` (psd group ->
    document Group, filled here) leaves keep their own values and name."""
    from psd_tools.api.layers import AdjustmentLayer

    for layer in group:
        if layer.is_group():
            key = layer.blend_mode.value
            sub_path = f"{path}{layer.name}/"
            sub_opacity = opacity * layer.opacity / 255.0
            sub_visible = visible and layer.visible
            clip, background = _artboard_parts(layer, sub_path, sub_opacity, sub_visible,
                                               parent_id, tree)
            styled = _group_effects(layer, psd, sub_path, sub_opacity, sub_visible, tree)
            if tree is not None:
                own_mask = _layer_mask(layer, keep_disabled=True)
                if clip is not None:
                    own_mask = _combined_mask([own_mask, clip], clip.bbox)
                doc_group = Group(layer.name, visible=layer.visible, opacity=layer.opacity / 255.0,
                                  blend_mode=None if key == b"pass" else BlendMode.from_psd_key(key),
                                  mask=own_mask, parent=parent_id)
                tree[layer] = doc_group
                for extra in (background, styled):
                    if extra is not None:
                        extra.chain, extra.group_id = chain + (layer,), doc_group.id
                        out.append(extra)
                _walk(layer, psd, "", 1.0, True, None, [], out, order, max_pixels, file,
                      chain + (layer,), tree, doc_group.id)
                continue
            own = None if key in (b"pass", b"norm") else BlendMode.from_psd_key(key)
            sub_masks = masks + [_layer_mask(layer)] + ([clip] if clip is not None else [])
            for extra in (background, styled):
                if extra is not None:
                    extra.chain = chain + (layer,)
                    extra.mask = _combined_mask([m for m in masks if m is not None] + [None],
                                                (extra.x, extra.y,
                                                 extra.x + extra.pixels.shape[1],
                                                 extra.y + extra.pixels.shape[0]))
                    out.append(extra)
            _walk(layer, psd, sub_path, sub_opacity, sub_visible, own or group_blend, sub_masks,
                  out, order, max_pixels, file, chain + (layer,))
            continue
        if isinstance(layer, AdjustmentLayer):
            leaf = _baked_adjustment(layer, psd, order, path, visible,
                                     chain if tree is not None else ())
        else:
            leaf = _leaf(layer, psd, path, opacity, visible, group_blend, masks, max_pixels, file)
        leaf.chain = chain
        leaf.group_id = parent_id
        out.append(leaf)
        order.append(layer)


def _clip_to_bases(leaves: list[_Leaf], psd, grouped: bool = False) -> list[tuple[str, str]]:
    """Mark clipped layers; in a flat reading, bake a clip to a group into the layer's alpha.

    Photoshop clips to the nearest non-clipping layer below in the same
    group; in the flat document that is the nearest non-clipped layer below,
    which the compositor clips to. Read with groups, a layer clipped to a group
    stays clipped and the compositor clips it to the group's picture; flat, it
    gets the group's composite alpha multiplied in (returned as features: the
    colour at the group's soft edges differs), and one first in its group
    clips to nothing and stays as it is.
    """
    from psd_tools.composite import composite as ps_composite

    baked = []
    for leaf in leaves:
        src = leaf.source
        if not getattr(src, "clipping", False):
            continue
        parent = src.parent
        siblings = list(parent) if parent is not None else []
        idx = next((i for i, ly in enumerate(siblings) if ly is src), -1)
        base = next((ly for ly in reversed(siblings[:max(idx, 0)]) if not ly.clipping), None)
        if base is None:
            continue
        if not base.is_group() or grouped:
            # the group's opacity reaches it through the base (clipping groups take the base's)
            leaf.clipping = True
            leaf.opacity = src.opacity / 255.0
            leaf.inherited_opacity = 1.0
            continue
        h, w = leaf.pixels.shape[:2]
        if h and w:
            box = (leaf.x, leaf.y, leaf.x + w, leaf.y + h)
            _color, _shape, alpha = ps_composite(base, color=0.0, alpha=0.0, viewport=box)
            alpha = np.asarray(alpha, np.float32).reshape(h, w)
            px = leaf.pixels.copy()
            px[..., 3] = np.round(px[..., 3] * np.clip(alpha, 0.0, 1.0)).astype(np.uint8)
            leaf.pixels = px
        leaf.derived = True
        baked.append((leaf.name, base.name))
    return baked


def _open_guarded(PSDImage, file: Path, header: PsdHeader, max_pixels, allow_damaged: bool,
                  damaged: list | None):
    """psd-tools' parse with reads bounded by the file size, then the checks made before decoding."""
    limits = psd_guard.parse_limits_for(file)
    psd = PSDImage.open(file, parse_limits=limits) if limits is not None else PSDImage.open(file)
    budget = memory_budget()
    if budget is not None and hasattr(psd, "max_alloc_bytes"):
        psd.max_alloc_bytes = budget  # psd-tools' own guard answers to the same budget
    found = psd_guard.damaged_channels(psd, header.version)
    if found and not allow_damaged:
        names = ", ".join(f"'{name}'" for name, _ in found[:3]) + (
            f" and {len(found) - 3} more" if len(found) > 3 else "")
        raise InputFileError(
            f"{file.name}: layer {names} is damaged ({found[0][1]})." if len(found) == 1 else
            f"{file.name}: layers {names} are damaged (the first: {found[0][1]}).",
            "Re-save it from the program that made it, or open it anyway with --allow-damaged "
            "(damaged layers then show wrong pixels).")
    if damaged is not None:
        damaged.extend(found)
    need, what = psd_guard.estimate_peak(psd, header, file, max_pixels)
    check_memory(file, need, what)
    return psd


def _check_merged_complete(psd, header: PsdHeader, file: Path) -> None:
    """The merged image is the file's last section: a file cut short loses it first.

    Its size is known without decoding for raw and RLE data, so a truncated
    file is caught even when we only read the layers. (ZIP data fails to
    inflate instead, which psd-tools reports when it is read.)
    """
    from psd_tools.constants import Compression

    image = psd._record.image_data
    data = image.data
    rows = header.channels * header.height
    if image.compression == Compression.RAW:
        need = rows * ((header.width * header.depth + 7) // 8)
    elif image.compression == Compression.RLE:
        size = 2 if header.version == 1 else 4
        table = np.frombuffer(data[:rows * size], ">u2" if size == 2 else ">u4")
        need = rows * size + int(table.sum(dtype=np.int64)) if table.size == rows else rows * size + 1
    else:
        return
    if len(data) < need:
        raise _damaged(file, f"the merged image is cut short: {len(data)} of {need} bytes")


def _merged_layer(psd, file: Path) -> Layer:
    if psd.depth == 32 and psd.color_mode in (1, 3):
        arr = psd.numpy()
        pixels = _deep_float_rgba(np.asarray(arr, np.float32), 1 if psd.color_mode == 1 else 3)
    else:
        im = psd.topil(apply_icc=_apply_icc(psd))
        if im is None:
            raise _damaged(file, "it has neither layers nor a merged image")
        pixels = pil_to_rgba(im)
    return Layer(pixels, name="Background")


def read_psd(path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
             allow_damaged: bool = False, damaged: list | None = None,
             groups: bool = False) -> Document:
    """Open a PSD/PSB as a layered :class:`Document` (see the module docstring).

    Before any pixel is decoded, every layer's channel data is checked
    against its record and the decoded size is estimated against the memory
    budget (:mod:`psd_guard`). A damaged layer raises an error naming it,
    unless ``allow_damaged``: then the file opens (the damaged layer as
    psd-tools decodes it) and ``damaged`` receives (layer name, problem).

    ``groups=True`` keeps Photoshop's groups as document groups
    (``doc.groups``, ``Layer.group``) with their own visibility, opacity,
    blend mode (pass-through included) and mask, and layers with their own
    names and values; the default folds groups into a flat layer list.
    """
    from psd_tools import PSDImage
    from psd_tools.compression import PSDDecompressionWarning

    file = check_input_path(path)
    header = parse_psd_header(file)
    check_pixels(file, header.width, header.height, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # psd-tools chats about unknown blocks
            # a cut-off channel is damage
            warnings.simplefilter("ignore" if allow_damaged else "error", PSDDecompressionWarning)
            psd = _open_guarded(PSDImage, file, header, max_pixels, allow_damaged, damaged)
            _check_merged_complete(psd, header, file)
            leaves: list[_Leaf] = []
            tree: dict | None = {} if groups else None
            with _older_effects_present(psd):
                _walk(psd, psd, "", 1.0, True, None, [], leaves, [], max_pixels, file, tree=tree)
                clipped_to_groups = _clip_to_bases(leaves, psd, grouped=groups)
            if leaves:
                layers = [Layer(lf.pixels, name=lf.name, x=lf.x, y=lf.y, opacity=lf.opacity,
                                visible=lf.visible, blend_mode=lf.blend, locked=lf.locked,
                                fill_opacity=lf.fill, clipping=lf.clipping, mask=lf.mask,
                                group=lf.group_id, blend_gamma=lf.gamma, knockout=lf.knockout)
                          for lf in leaves]
            else:
                merged = _merged_layer(psd, file)
                # no layer records and a wholly transparent merged image: an empty document
                # (what saving one writes; Photoshop's flat files have an opaque Background)
                layers = [merged] if merged.pixels[..., 3].any() else []
            source = _source(file, psd, header, leaves, layers, clipped_to_groups, tree)
            if header.color_mode == 4:
                source.working_space = _cmyk_space(psd, leaves, layers)
    except QilError:
        raise
    except MemoryError:
        raise InputFileError(f"{file.name} is too large to open with the memory available.",
                             "Close other programs, or flatten or scale the file down in Photoshop.") from None
    except OSError as exc:
        if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
            raise input_error_from_os(file, exc) from None
        raise _damaged(file, damage_detail(exc)) from None
    except Exception as exc:  # psd-tools raises many kinds on a damaged file
        if psd_guard.is_budget_error(exc):
            raise InputFileError(f"{file.name} is too large to open within QIL Editor's memory budget.",
                                 "Close other programs, open a flattened copy, or raise the budget with "
                                 "qil --memory-budget SIZE.") from None
        raise _damaged(file, damage_detail(exc)) from None
    doc = Document(header.width, header.height, layers, path=str(file),
                   groups=list(tree.values()) if tree else None)
    doc.source = source
    return doc


def _cmyk_space(psd, leaves: list[_Leaf], layers: list[Layer]):
    """A CMYK file's :class:`CmykSpace`: its profile and each layer's stored colour
    (layers drawn in RGB -- effects, artboards -- are converted when composited)."""
    from psd_tools.constants import Resource

    from ..document.cmyk import CmykSpace

    profile = psd.image_resources.get_data(Resource.ICC_PROFILE) if psd.image_resources else None
    space = CmykSpace(bytes(profile) if profile else None)
    kept = False
    for leaf, layer in zip(leaves, layers):
        if leaf.cmyk is not None and leaf.cmyk.shape[:2] == layer.pixels.shape[:2]:
            space.keep(layer.id, layer.pixels, leaf.cmyk)
            kept = True
    return space if kept else None  # a lone merged image stays as read


def _source(file: Path, psd, header: PsdHeader, leaves: list[_Leaf], layers: list[Layer],
            clipped_to_groups: list[tuple[str, str]], tree: dict | None = None) -> PsdSource:
    """What the document keeps of the file: records per layer, and what it shows as pixels."""
    src = PsdSource(str(file), psd, version=header.version, depth=header.depth,
                    color_mode=header.color_mode, channels=header.channels,
                    width=header.width, height=header.height)
    features = src.features
    if header.color_mode != 3:
        features.append(SourceFeature(
            "color_mode", f"{_COLOR_MODES[header.color_mode]} colour mode becomes RGB"
            + (" (its layers then blend in RGB: where they mix, colours shift)"
               if header.color_mode == 4 else "")))
    if header.depth != 8:
        features.append(SourceFeature("depth", f"{header.depth}-bit colour becomes 8-bit"))
    color_planes = {0: 1, 1: 1, 2: 1, 3: 3, 4: 4, 9: 3}.get(header.color_mode, header.channels)
    if header.channels > color_planes + 1:
        features.append(SourceFeature(
            "channels", f"{header.channels - color_planes - 1} saved selection channel(s) are dropped"))
    groups: dict[int, str] = {}
    for leaf in leaves:
        for g in leaf.chain:
            groups.setdefault(id(g), g.name)
    if tree:  # groups kept as document groups: remember each one's record and values
        for psd_group, doc_group in tree.items():
            src.group_origins[doc_group.id] = GroupOrigin(psd_group, doc_group.properties())
    elif groups:
        names = list(groups.values())
        shown = ", ".join(f"'{n}'" for n in names[:3]) + (f" and {len(names) - 3} more"
                                                          if len(names) > 3 else "")
        features.append(SourceFeature(
            "groups", f"{len(names)} group(s) ({shown}) become flat layers named 'Group/Layer'"))
    for leaf, layer in zip(leaves, layers):
        if leaf.synthetic:  # drawn by Photoshop from a group's record (artboard, style): never written
            src.synthetic[layer.id] = (layer.properties(), layer.pixels)
            if leaf.style:  # drawn from the group's layers as read: which ones, to tell when stale
                members = tuple(ly.id for lf, ly in zip(leaves, layers)
                                if not lf.synthetic and any(g is leaf.source for g in lf.chain))
                src.group_styles[layer.id] = (leaf.source.name, members, layer.group, leaf.effects)
            continue
        live = tuple(SourceFeature(kind, text, layer.id, layer.name) for kind, text in leaf.live)
        features.extend(live)
        if not leaf.group_visible and leaf.source.visible:
            features.append(SourceFeature(
                "hidden_group", f"'{layer.name}' is inside a hidden group and stays hidden there",
                layer.id, layer.name))
        src.origins[layer.id] = LayerOrigin(
            record=leaf.source._record, channels=leaf.source._channels, psd_layer=leaf.source,
            chain=leaf.chain, prefix=leaf.prefix, inherited_opacity=leaf.inherited_opacity,
            group_visible=leaf.group_visible, props=layer.properties(), pixels=layer.pixels,
            derived=leaf.derived, live=live)
        src.order.append(layer.id)
    for name, group in clipped_to_groups:
        features.append(SourceFeature(
            "clip_to_group", f"'{name}' clipped to group '{group}' has the group's shape baked in"))
    return src
