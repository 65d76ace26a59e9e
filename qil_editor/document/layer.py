"""A raster layer: straight-alpha RGBA pixels placed at an offset, with an optional mask."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .blend import BlendMode


def new_layer_id() -> str:
    import uuid  # on first use: it imports platform, ~3 ms of the editor's start

    return uuid.uuid4().hex


def as_rgba_array(pixels: np.ndarray) -> np.ndarray:
    """Validate layer pixels: (H, W, 4) uint8, C-contiguous."""
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(f"layer pixels must be (H, W, 4), got {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"layer pixels must be uint8, got {arr.dtype}")
    return np.ascontiguousarray(arr)


@dataclass(frozen=True, eq=False)
class LayerMask:
    """A layer (pixel) mask as Photoshop keeps it: a grey plane placed in the document.

    Outside its box the mask is ``default`` (0 hides, 255 shows). ``density``
    scales how much the mask hides (Photoshop's Masks panel); ``feather`` is a
    Gaussian blur radius in pixels applied when compositing. Compared by
    identity, like layer pixels: an edit makes a new mask.
    """

    pixels: np.ndarray
    x: int = 0
    y: int = 0
    default: int = 0
    density: float = 1.0
    feather: float = 0.0
    disabled: bool = False

    def __post_init__(self) -> None:
        arr = np.asarray(self.pixels)
        if arr.ndim != 2 or arr.dtype != np.uint8:
            raise ValueError(f"mask pixels must be (H, W) uint8, got {arr.shape} {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        if arr.flags.writeable:
            arr = arr.copy()
            arr.flags.writeable = False
        object.__setattr__(self, "pixels", arr)
        object.__setattr__(self, "x", int(self.x))
        object.__setattr__(self, "y", int(self.y))
        object.__setattr__(self, "default", 255 if int(self.default) >= 128 else 0)
        object.__setattr__(self, "density", float(min(1.0, max(0.0, self.density))))
        object.__setattr__(self, "feather", float(max(0.0, self.feather)))

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.pixels.shape[1], self.y + self.pixels.shape[0])

    def moved(self, dx: int, dy: int) -> "LayerMask":
        return replace(self, x=self.x + int(dx), y=self.y + int(dy))

    def coverage(self, box: tuple[int, int, int, int]) -> np.ndarray | None:
        """Mask values over a document box as float32 0..1 (density and feather
        applied); None when the mask hides nothing there."""
        if self.disabled or self.density <= 0.0:
            return None
        l, t, r, b = box
        plane, (px, py) = self._feathered()
        out = np.full((b - t, r - l), self.default / 255.0, np.float32)
        il, it = max(l, px), max(t, py)
        ir, ib = min(r, px + plane.shape[1]), min(b, py + plane.shape[0])
        if ir > il and ib > it:
            out[it - t:ib - t, il - l:ir - l] = plane[it - py:ib - py, il - px:ir - px]
        if self.density < 1.0:
            out = np.float32(1.0 - self.density) + np.float32(self.density) * out
        if out.size and out.min() >= 1.0:
            return None
        return out

    def _feathered(self) -> tuple[np.ndarray, tuple[int, int]]:
        """The mask plane as float 0..1, blurred by ``feather`` (cached: masks are immutable)."""
        cached = self.__dict__.get("_plane")
        if cached is not None:
            return cached
        plane = self.pixels.astype(np.float32) * np.float32(1.0 / 255.0)
        origin = (self.x, self.y)
        if self.feather > 0.0 and plane.size:
            import cv2

            pad = int(np.ceil(3.0 * self.feather)) + 1
            plane = cv2.copyMakeBorder(plane, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                       value=self.default / 255.0)
            plane = cv2.GaussianBlur(plane, (0, 0), sigmaX=self.feather, sigmaY=self.feather,
                                     borderType=cv2.BORDER_REPLICATE)
            origin = (self.x - pad, self.y - pad)
        object.__setattr__(self, "_plane", (plane, origin))
        return plane, origin


@dataclass(eq=False)
class Layer:
    """One layer. Pixels are treated as immutable: edits replace the array.

    Treating arrays as values (never written in place) is what makes undo
    cheap: a command keeps a reference to the old array instead of a copy.
    """

    pixels: np.ndarray
    name: str = "Layer"
    x: int = 0
    y: int = 0
    opacity: float = 1.0
    visible: bool = True
    blend_mode: BlendMode = BlendMode.NORMAL
    locked: bool = False
    id: str = field(default_factory=new_layer_id)
    # Photoshop's "Fill": fades the layer's own pixels but not its effects, and
    # for the eight special blend modes changes the blend instead of the alpha.
    fill_opacity: float = 1.0
    clipping: bool = False  # clipped to the nearest non-clipped layer below
    mask: LayerMask | None = None
    group: str | None = None  # id of the innermost Group holding it (document.groups)
    # Photoshop mixes a text layer's colours with what is below at gamma 1.45 (Color
    # Settings' "Blend Text Colors Using Gamma"); 1.0 is ordinary blending. Set by the
    # PSD reader for text layers; not a user property (not in properties()).
    blend_gamma: float = 1.0
    # Photoshop's knockout (Blending Options): 0 none; 1 shallow, the layer's shape shows
    # what was there when its group began; 2 deep, the bottom background (or nothing);
    # 3 replace: a snapshot of everything below (a baked adjustment layer) replaces it.
    knockout: int = 0

    def __post_init__(self) -> None:
        self.pixels = as_rgba_array(self.pixels)
        self.pixels.flags.writeable = False
        self.blend_mode = BlendMode.parse(self.blend_mode)
        self.opacity = float(min(1.0, max(0.0, self.opacity)))
        self.fill_opacity = float(min(1.0, max(0.0, self.fill_opacity)))
        self.clipping = bool(self.clipping)
        if self.mask is not None and not isinstance(self.mask, LayerMask):
            raise TypeError("mask must be a LayerMask or None")
        self.x, self.y = int(self.x), int(self.y)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in document coordinates."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    def properties(self) -> dict:
        """Everything except pixels and id, for comparisons and serialisation."""
        return {
            "name": self.name,
            "x": self.x,
            "y": self.y,
            "opacity": self.opacity,
            "visible": self.visible,
            "blend_mode": self.blend_mode,
            "locked": self.locked,
            "fill_opacity": self.fill_opacity,
            "clipping": self.clipping,
            "mask": self.mask,
            "group": self.group,
        }

    def copy(self, *, new_id: bool = False, **changes) -> "Layer":
        if new_id:
            changes.setdefault("id", new_layer_id())
        return replace(self, **changes)

    def alpha_at(self, doc_x: int, doc_y: int) -> int:
        """Alpha of the pixel under a document point, 0 outside the layer."""
        lx, ly = doc_x - self.x, doc_y - self.y
        if 0 <= lx < self.width and 0 <= ly < self.height:
            return int(self.pixels[ly, lx, 3])
        return 0
