"""Compositing a CMYK document in CMYK, as Photoshop does.

Photoshop blends a CMYK file's layers in CMYK and only the finished picture
becomes RGB on screen; converting each layer to RGB first and blending
those gives other colours wherever layers mix (soft edges, opacity, blend
modes: ag-psd's cmyk case, 55 levels). The editor's layers stay RGB (that is
what it edits); a :class:`CmykSpace` kept with a document opened from a CMYK
file holds each layer's colour as the file stores it. The compositor blends
those colours (what psd-tools' composite does too: the values as stored,
1.0 = no ink, with the RGB formulas) and converts the result through the
file's ICC profile, exactly as the file's merged image is converted.

A layer whose pixels were edited (its array is not the one read) keeps the
stored ink where a pixel's colour is still the one read; its other pixels go into CMYK through the same
profile (sRGB -> CMYK, perceptual, as psd-tools widens RGB into a CMYK
canvas) before blending, which is what Photoshop does with RGB pixels pasted
into a CMYK file. Layer properties (offset, opacity, blend mode, masks,
visibility, groups) always come from the layer itself.

Four colour planes do not fit the compositor's RGBA buffers, so the
picture is blended twice, C/M/Y as one RGB picture and K as a grey one, with
the same alphas. Separable modes blend per channel, so that is exact; the
hue/saturation/colour/luminosity modes take CMY together and K from the
backdrop (luminosity: the source) -- which is what a grey K plane gives
under those formulas, and psd-tools' rule. Darker/lighter colour compare
per pass, not over all four inks (approximate).
"""

from __future__ import annotations

import io
from typing import Iterable, Mapping

import numpy as np

from .layer import Layer

Region = tuple[int, int, int, int]


class CmykSpace:
    """A CMYK file's colour space: its profile and its layers' stored colour."""

    def __init__(self, profile: bytes | None = None) -> None:
        self.profile = profile or None
        # id -> (RGBA read, C/M/Y + alpha, K/K/K + alpha); the same for edited layers
        self._stored: dict[str, tuple] = {}
        self._converted: dict[str, tuple] = {}
        self._transforms: dict[str, object] = {}

    # ----- conversions (uint8 "ink left": 255 = no ink, as the file stores it) --------
    def _transform(self, direction: str):
        if self.profile is None:
            return None
        if direction not in self._transforms:
            from PIL import ImageCms
            try:
                cmyk = ImageCms.ImageCmsProfile(io.BytesIO(self.profile))
                srgb = ImageCms.createProfile("sRGB")
                self._transforms[direction] = (
                    ImageCms.buildTransform(cmyk, srgb, "CMYK", "RGB") if direction == "rgb"
                    else ImageCms.buildTransform(srgb, cmyk, "RGB", "CMYK",
                                                 renderingIntent=ImageCms.Intent.PERCEPTUAL))
            except (ImageCms.PyCMSError, OSError, ValueError):
                self._transforms[direction] = None  # a broken profile: the plain formula
        return self._transforms[direction]

    def to_rgb(self, left: np.ndarray) -> np.ndarray:
        """(..., 4) uint8 ink left -> (..., 3) uint8 sRGB, the merged image's conversion."""
        from PIL import Image, ImageCms

        shape = left.shape[:-1]
        flat = np.ascontiguousarray(left.reshape(-1, 1, 4))
        transform = self._transform("rgb")
        if transform is not None and flat.shape[0]:
            im = Image.fromarray(np.ascontiguousarray(255 - flat), "CMYK")
            rgb = np.asarray(ImageCms.applyTransform(im, transform), np.uint8)
            return rgb.reshape(shape + (3,))
        c = flat.astype(np.uint16)
        rgb = (c[..., :3] * c[..., 3:4] + 127) // 255
        return rgb.astype(np.uint8).reshape(shape + (3,))

    def from_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """(..., 3) uint8 sRGB -> (..., 4) uint8 ink left (edited layers)."""
        from PIL import Image, ImageCms

        shape = rgb.shape[:-1]
        flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3))
        transform = self._transform("cmyk")
        if transform is not None and flat.shape[0]:
            im = Image.fromarray(flat, "RGB")
            ink = np.asarray(ImageCms.applyTransform(im, transform), np.uint8)
            return (255 - ink).reshape(shape + (4,))
        c = flat.astype(np.float32) / 255.0
        k = c.max(axis=-1, keepdims=True)
        cmy = np.divide(c, k, out=np.ones_like(c), where=k > 0)
        out = np.round(np.concatenate([cmy, k], axis=-1) * 255.0).astype(np.uint8)
        return out.reshape(shape + (4,))

    # ----- the layers' colour -----------------------------------------------------
    # Kept as the two pictures the compositor blends (C/M/Y + alpha, K/K/K + alpha): no
    # further copy per flatten, 8 bytes a pixel beside the layer's own 4.
    def keep(self, layer_id: str, pixels: np.ndarray, cmyk: np.ndarray) -> None:
        """Remember a layer's stored colour (ink left, same size as ``pixels``)."""
        if cmyk.shape[:2] != pixels.shape[:2] or cmyk.shape[2:] != (4,):
            raise ValueError("CMYK planes must match the layer's pixels")
        self._stored[layer_id] = (pixels, *_passes(np.asarray(cmyk, np.uint8), pixels))

    def stored(self, layer: Layer) -> bool:
        """Whether ``layer`` still shows the colour read from the file."""
        kept = self._stored.get(layer.id)
        return kept is not None and kept[0] is layer.pixels

    def planes(self, layer: Layer) -> np.ndarray:
        """The layer's colour in the file's CMYK (ink left): as stored while its pixels
        are the ones read, else as :meth:`_passes` converts it."""
        first, second = self._passes(layer)
        return np.concatenate([first[..., :3], second[..., :1]], axis=-1)

    def _passes(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        """The two pictures of ``layer``: as stored while its pixels are the ones read;
        after an edit, pixels whose colour is still the one read keep their ink and the
        others are converted (cached while the pixels stay the same array)."""
        kept = self._stored.get(layer.id)
        if kept is not None and kept[0] is layer.pixels:
            return kept[1], kept[2]
        done = self._converted.get(layer.id)
        if done is not None and done[0] is layer.pixels:
            return done[1], done[2]
        cmyk = self.from_rgb(layer.pixels[..., :3])
        if kept is not None and kept[0].shape == layer.pixels.shape:
            # pixels the edit left as they were keep their ink (RGB -> CMYK -> RGB is
            # not the identity: up to 45 levels on ag-psd's cmyk case)
            same = np.all(layer.pixels[..., :3] == kept[0][..., :3], axis=-1)
            cmyk[same, :3] = kept[1][same, :3]
            cmyk[same, 3] = kept[2][same, 0]
        self._converted[layer.id] = (layer.pixels, *_passes(cmyk, layer.pixels))
        return self._converted[layer.id][1:]

    # ----- compositing --------------------------------------------------------------
    def composite(self, layers: Iterable[Layer], width: int, height: int,
                  region: Region | None = None, *, include_hidden: bool = False,
                  premultiplied: bool = False, groups: Mapping | None = None) -> np.ndarray:
        """:func:`composite_layers` of ``layers`` blended in CMYK, returned as sRGB."""
        from .compositing import composite_layers

        layers = list(layers)
        cmy, k = [], []
        for layer in layers:
            first, second = self._passes(layer)
            cmy.append(layer.copy(pixels=first))
            k.append(layer.copy(pixels=second))
        kwargs = dict(include_hidden=include_hidden, premultiplied=True, groups=groups)
        first = composite_layers(cmy, width, height, region, **kwargs)
        second = composite_layers(k, width, height, region, **kwargs)
        alpha = first[..., 3]
        inv = np.zeros_like(alpha)
        np.divide(1.0, alpha, out=inv, where=alpha > 1e-7)
        straight = np.empty(alpha.shape + (4,), np.float32)
        straight[..., :3] = first[..., :3] * inv[..., None]
        straight[..., 3] = second[..., 0] * inv
        left = np.round(np.clip(straight, 0.0, 1.0) * 255.0).astype(np.uint8)
        rgb = self.to_rgb(left)
        if premultiplied:
            out = np.empty(alpha.shape + (4,), np.float32)
            out[..., :3] = rgb * (alpha[..., None] / np.float32(255.0))
            out[..., 3] = alpha
            return out
        out = np.empty(alpha.shape + (4,), np.uint8)
        out[..., :3] = rgb
        out[..., 3] = np.round(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
        out[out[..., 3] == 0, :3] = 0
        return out


def _passes(cmyk: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    alpha = pixels[..., 3:4]
    first = np.concatenate([cmyk[..., :3], alpha], axis=-1)
    second = np.concatenate([np.repeat(cmyk[..., 3:4], 3, axis=-1), alpha], axis=-1)
    return first, second
