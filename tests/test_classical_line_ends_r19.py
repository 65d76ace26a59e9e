"""Words left apart from their paragraph, round 19 of issue 14. A paragraph whose glyphs touch
across its lines (a descender on an ascender) reads as tall pieces, so the line rule, which asks
for glyphs of one size, left the last word of a line ("coffee" | "offer") and a glyph inside the
paragraph's box apart: each took a layer of its own. A text region of the paragraph's ink within
its rows, close to where its ink ends, or inside its box, joins it; one farther off stays apart.
Hand-built segmentation; fails before its change."""

import numpy as np

from qil_editor.engines.classical.text import merge_text_lines
from classical_design import H, W, segmentation


def _paragraph_and(word_x0, fragment=False):
    """A two-line paragraph read as one tall text region (its glyphs touch across the lines),
    a last word on its lower line ``word_x0`` px to the right, optionally a glyph left apart
    inside its box."""
    owner = np.zeros((H, W), np.int32)
    owner[50:68, 40:200:6] = 1          # stems of both lines, one region
    owner[72:90, 40:200:6] = 1
    owner[66:74, 40:200:12] = 1         # where descenders meet ascenders
    owner[72:90, word_x0:word_x0 + 36:6] = 2
    kinds = ["text", "text"]
    if fragment:
        owner[52:62, 100:110] = 3
        kinds.append("text")
    return segmentation(owner, kinds, [(0.9, 0.8, 0.6)] * len(kinds))


def test_a_paragraphs_last_word_and_its_stray_glyph_join_it():
    out = merge_text_lines(_paragraph_and(220, fragment=True), H)
    assert len(out.regions) == 1     # was 3: "offer" and a glyph apart from their paragraph


def test_a_word_far_from_the_paragraph_stays_apart():
    out = merge_text_lines(_paragraph_and(250), H)
    assert len(out.regions) == 2
