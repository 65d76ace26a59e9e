"""The brush's settings (size, hardness, opacity, black or white), shared by every document.

Apart from the canvas tools (:mod:`.tools`, which re-exports these), so the window's tool
options bar can make them without loading the tools at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BrushSettings:
    """The brush options, shared by every document (the tool options bar edits them)."""

    size: int = 40  # diameter, document pixels
    hardness: float = 0.5  # 0 soft .. 1 hard
    opacity: float = 1.0
    foreground: int = 0  # grey level: 0 black (hides on a mask), 255 white (reveals)

    @property
    def background(self) -> int:
        return 255 - self.foreground

    def swap(self) -> None:
        """X: exchange the foreground and background colours (hide <-> reveal on a mask)."""
        self.foreground = 255 - self.foreground


#: how the size steps with [ and ] (Photoshop's: finer when small)
def next_brush_size(size: int, up: bool) -> int:
    from ..document.paint import MAX_SIZE, MIN_SIZE

    step = 1 if size < 10 else 5 if size < 50 else 10 if size < 100 else 25 if size < 200 else 50 if size < 500 else 100
    if not up and size - step < 10 <= size:
        step = 1
    return max(MIN_SIZE, min(MAX_SIZE, size + step if up else size - step))
