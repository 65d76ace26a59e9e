"""Draw the application icon (a stack of three layers) and write the files the builds need.

    python packaging/make_icon.py

writes packaging/icon.png (1024 px), icon.ico (Windows, 16-256 px),
icon.icns (macOS) and resources/icons/qil-editor.png (256 px, the window
icon, found at run time with ``resource_path("icons", "qil-editor.png")``). Drawn in code so the icon can be
regenerated and changed without an image editor; the outputs are committed.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
WINDOW_ICON = HERE.parent / "resources" / "icons" / "qil-editor.png"
SIZE = 1024
SUPERSAMPLE = 4

BACKGROUND = (32, 36, 48, 255)
LAYER_COLOURS = [  # bottom -> top, like the document's layer order
    (64, 160, 255, 235),
    (255, 170, 60, 235),
    (240, 80, 120, 235),
]


def _diamond(cx: float, cy: float, half_w: float, half_h: float) -> list[tuple[float, float]]:
    return [(cx, cy - half_h), (cx + half_w, cy), (cx, cy + half_h), (cx - half_w, cy)]


def draw_icon(size: int = SIZE) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = big * 0.06
    draw.rounded_rectangle([margin, margin, big - margin, big - margin], radius=big * 0.2, fill=BACKGROUND)

    half_w, half_h = big * 0.30, big * 0.15
    step = big * 0.13
    cx = big / 2
    base_cy = big / 2 + step
    for index, colour in enumerate(LAYER_COLOURS):
        layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        layer_draw = ImageDraw.Draw(layer)
        cy = base_cy - index * step
        # A darker rim under each sheet gives it thickness.
        rim = tuple(int(c * 0.55) for c in colour[:3]) + (255,)
        layer_draw.polygon(_diamond(cx, cy + big * 0.025, half_w, half_h), fill=rim)
        layer_draw.polygon(_diamond(cx, cy, half_w, half_h), fill=colour)
        image = Image.alpha_composite(image, layer)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    icon = draw_icon()
    icon.save(HERE / "icon.png", optimize=True)
    icon.save(HERE / "icon.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    icon.save(HERE / "icon.icns")
    WINDOW_ICON.parent.mkdir(parents=True, exist_ok=True)
    icon.resize((256, 256), Image.LANCZOS).save(WINDOW_ICON, optimize=True)
    print(f"wrote {HERE / 'icon.png'}, icon.ico, icon.icns and {WINDOW_ICON}")


if __name__ == "__main__":
    main()
