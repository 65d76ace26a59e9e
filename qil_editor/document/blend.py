"""Blend modes, named as designers know them, with their PSD keys."""

from __future__ import annotations

from enum import Enum


class BlendMode(str, Enum):
    NORMAL = "normal"
    DISSOLVE = "dissolve"
    DARKEN = "darken"
    MULTIPLY = "multiply"
    COLOR_BURN = "color_burn"
    LINEAR_BURN = "linear_burn"
    DARKER_COLOR = "darker_color"
    LIGHTEN = "lighten"
    SCREEN = "screen"
    COLOR_DODGE = "color_dodge"
    LINEAR_DODGE = "linear_dodge"
    LIGHTER_COLOR = "lighter_color"
    OVERLAY = "overlay"
    SOFT_LIGHT = "soft_light"
    HARD_LIGHT = "hard_light"
    VIVID_LIGHT = "vivid_light"
    LINEAR_LIGHT = "linear_light"
    PIN_LIGHT = "pin_light"
    HARD_MIX = "hard_mix"
    DIFFERENCE = "difference"
    EXCLUSION = "exclusion"
    SUBTRACT = "subtract"
    DIVIDE = "divide"
    HUE = "hue"
    SATURATION = "saturation"
    COLOR = "color"
    LUMINOSITY = "luminosity"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()

    @property
    def psd_key(self) -> bytes:
        return _PSD_KEYS[self]

    @classmethod
    def from_psd_key(cls, key: bytes | str) -> "BlendMode":
        if isinstance(key, str):
            key = key.encode("latin-1")
        key = key.ljust(4)[:4]
        if key == b"pass":  # group pass-through behaves as normal once flattened
            return cls.NORMAL
        try:
            return _FROM_PSD[key]
        except KeyError:
            return cls.NORMAL

    @classmethod
    def parse(cls, value: "BlendMode | str") -> "BlendMode":
        if isinstance(value, BlendMode):
            return value
        norm = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        try:
            return cls(norm)
        except ValueError:
            raise ValueError(f"Unknown blend mode {value!r}") from None


_PSD_KEYS = {
    BlendMode.NORMAL: b"norm",
    BlendMode.DISSOLVE: b"diss",
    BlendMode.DARKEN: b"dark",
    BlendMode.MULTIPLY: b"mul ",
    BlendMode.COLOR_BURN: b"idiv",
    BlendMode.LINEAR_BURN: b"lbrn",
    BlendMode.DARKER_COLOR: b"dkCl",
    BlendMode.LIGHTEN: b"lite",
    BlendMode.SCREEN: b"scrn",
    BlendMode.COLOR_DODGE: b"div ",
    BlendMode.LINEAR_DODGE: b"lddg",
    BlendMode.LIGHTER_COLOR: b"lgCl",
    BlendMode.OVERLAY: b"over",
    BlendMode.SOFT_LIGHT: b"sLit",
    BlendMode.HARD_LIGHT: b"hLit",
    BlendMode.VIVID_LIGHT: b"vLit",
    BlendMode.LINEAR_LIGHT: b"lLit",
    BlendMode.PIN_LIGHT: b"pLit",
    BlendMode.HARD_MIX: b"hMix",
    BlendMode.DIFFERENCE: b"diff",
    BlendMode.EXCLUSION: b"smud",
    BlendMode.SUBTRACT: b"fsub",
    BlendMode.DIVIDE: b"fdiv",
    BlendMode.HUE: b"hue ",
    BlendMode.SATURATION: b"sat ",
    BlendMode.COLOR: b"colr",
    BlendMode.LUMINOSITY: b"lum ",
}
_FROM_PSD = {v: k for k, v in _PSD_KEYS.items()}
