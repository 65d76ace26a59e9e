"""File > Export As… in the editor: every format of the table, its filters, and what it had to change."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMenu

from qil_editor.document import BlendMode, Document, Layer
from qil_editor.io import formats, save_psd
from qil_editor.io.ora import read_ora


def layered_psd(tmp_path):
    rng = np.random.default_rng(2)
    doc = Document(40, 30, [Layer(rng.integers(0, 256, (30, 40, 4), dtype=np.uint8), name="Back"),
                            Layer(rng.integers(0, 256, (10, 12, 4), dtype=np.uint8), name="Burn", x=5, y=4,
                                  blend_mode=BlendMode.LINEAR_BURN)])
    path = tmp_path / "poster.psd"
    save_psd(doc, path)
    return path


def test_export_as_offers_the_table_and_writes_the_chosen_format(window, dialogs, tmp_path):
    tab = window.open_path(layered_psd(tmp_path))
    action = window.actions_by_name["export_as"]
    export_menu, = [m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Export"]
    assert action.isEnabled() and action in export_menu.actions()
    asked = []

    def answer(title, suggested, filters, selected):
        asked.append((suggested, filters, selected))
        return str(tmp_path / "out"), formats.by_key("ora").filter  # no extension typed: the filter's

    window.files.ask_export_path = answer
    action.trigger()
    (suggested, filters, selected), = asked
    assert suggested.endswith("poster.ora") and selected == formats.by_key("ora").filter
    assert filters == formats.export_filters() and "PowerPoint" in filters and "SVG" in filters
    back = read_ora(tmp_path / "out.ora")
    assert [ly.name for ly in back.layers] == ["Back", "Burn"]
    (title, text, info), = dialogs.shown  # ORA has no Linear Burn: the editor says so, naming the layer
    assert title == "Exported with changes" and '"Burn"' in info and "Linear Burn" in info
    assert tab.session.doc.layers[1].blend_mode == BlendMode.LINEAR_BURN  # the document is untouched


def test_export_as_takes_a_typed_extension_and_reports_errors(window, dialogs, tmp_path):
    window.open_path(layered_psd(tmp_path))
    window.files.ask_export_path = lambda *a: (str(tmp_path / "deck.pptx"), formats.by_key("svg").filter)
    assert window.files.export_as()
    assert (tmp_path / "deck.pptx").is_file() and not (tmp_path / "deck.pptx.svg").exists()
    dialogs.shown.clear()
    window.files.ask_export_path = lambda *a: (str(tmp_path / "missing" / "x.svg"), "")
    assert not window.files.export_as()
    (title, text, info), = dialogs.shown
    assert title == "Could not export" and "does not exist" in text


def test_open_dialog_filter_lists_openraster():
    from qil_editor.ui.file_workflow import OPEN_FILTER

    assert "*.ora" in OPEN_FILTER and "OpenRaster (*.ora)" in OPEN_FILTER
