"""A picture's own patches are no text, round 19 of issue 14. The segmentation cuts a photo's
bright or flat patches (clouds, highlights) into pieces of their own; a run of alike patches lined
up like glyphs and became a "text" layer of the photo's colour, which took the layer a button's
label needed (the label went into the button). A line, or a lone stroke-like piece, lying within a
big picture's hull in a colour the picture has all around it goes back to the picture; a word in a
colour of its own on the picture stays text. Hand-built segmentation; fails before its change."""

import numpy as np

from qil_editor.engines.classical.text import merge_text_lines
from classical_design import H, W, segmentation

PATCH = (0.85, 0.85, 0.45)   # the picture's light colour, its patches in it too
DARK = (0.2, 0.5, 0.2)
INK = (0.9, 0.1, 0.1)        # a word's own colour, nowhere else on the picture


def _picture_with_patches_and_a_word():
    owner = np.zeros((H, W), np.int32)
    rgb = np.zeros((H, W, 3), np.float32)
    rgb[:] = (0.95, 0.95, 0.95)
    owner[40:200, 60:260] = 1
    yy, xx = np.mgrid[0:H, 0:W]
    light = ((xx // 9 + yy // 7) % 3 == 0)
    inside = owner == 1
    rgb[inside] = DARK
    rgb[inside & light] = PATCH
    kinds, colours = ["photo"], [DARK]
    for x in (90, 108, 126):            # three patches on a row, glyph-sized, in the picture's colour
        owner[80:94, x:x + 11] = len(kinds) + 1
        rgb[80:94, x:x + 11] = PATCH
        kinds.append("thin")
        colours.append(PATCH)
    owner[100:103, 200:240] = len(kinds) + 1   # a lone stroke-like patch (an L)
    owner[100:124, 200:203] = len(kinds) + 1
    rgb[owner == len(kinds) + 1] = PATCH
    kinds.append("thin")
    colours.append(PATCH)
    word = []
    for x in (90, 108, 126):            # a word in its own colour
        owner[150:164, x:x + 11] = len(kinds) + 1
        rgb[150:164, x:x + 11] = INK
        word.append(len(kinds) + 1)
        kinds.append("thin")
        colours.append(INK)
    return segmentation(owner, kinds, colours), rgb * 100.0


def test_a_pictures_patches_go_back_to_it_and_its_word_stays_text():
    seg, lab = _picture_with_patches_and_a_word()
    out = merge_text_lines(seg, H, lab)
    assert sorted(r.kind for r in out.regions) == ["photo", "text"]   # was photo, text, text, thin
    photo = next(r for r in out.regions if r.kind == "photo")
    assert (out.owner[80:94, 90:137] == photo.label).mean() > 0.6
    assert (out.owner[100:103, 200:240] == photo.label).all()
    text = next(r for r in out.regions if r.kind == "text")
    assert (out.owner[150:164, 90:101] == text.label).all()


def test_without_colours_the_lines_stay_as_read():
    seg, _ = _picture_with_patches_and_a_word()
    out = merge_text_lines(seg, H)
    assert sorted(r.kind for r in out.regions) == ["photo", "text", "text", "thin"]

