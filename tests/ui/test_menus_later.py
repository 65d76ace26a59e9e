"""The editor's start-up builds the menus' contents after the first frame (``menus_later``):
shortcuts work before, opening a menu builds them, and the result is the eager window's menus."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest

from qil_editor.ui.app_window import MainWindow


def structure(menu) -> list:
    """Each entry of a menu: its action's objectName (or text), a separator, or a submenu's entries."""
    out = []
    for action in menu.actions():
        if action.isSeparator():
            out.append("-")
        elif action.menu() is not None:
            out.append((action.text(), structure(action.menu())))
        else:
            out.append(action.objectName() or action.text())
    return out


def menus(window: MainWindow) -> list:
    return [(action.text(), structure(action.menu())) for action in window.menuBar().actions()]


def test_menus_built_later_match_the_eager_ones_and_shortcuts_work_before(qtbot, settings, tmp_path, dialogs):
    eager = MainWindow(settings, tmp_path / "eager")
    later = MainWindow(settings, tmp_path / "later", menus_later=True)
    for window in (eager, later):
        qtbot.addWidget(window)
    later.show()
    later.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(later.isActiveWindow, timeout=3000)
    titles = [action.text() for action in later.menuBar().actions()]
    assert titles == [action.text() for action in eager.menuBar().actions()] == list(MainWindow.MENU_TITLES)
    assert all(not menu.actions() for menu in later.menus.values())  # titles only, nothing inside yet
    assert sum(len(entries) for _title, entries in menus(eager)) > 40

    A = later.actions_by_name
    QTest.keySequence(later, "H")  # Tools > Hand Tool, before any menu exists
    assert A["tool_hand"].isChecked() and not A["tool_move"].isChecked()
    QTest.keySequence(later, "B")  # a tool the masks module adds to the Tools menu
    assert A["tool_brush"].isChecked() and not A["tool_hand"].isChecked()
    assert A["snap"].isChecked()
    QTest.keySequence(later, "Ctrl+Shift+;")  # View > Snap
    assert not A["snap"].isChecked()
    assert all(not menu.actions() for menu in later.menus.values())  # shortcuts did not need them

    layer = later.menus["&Layer"]
    layer.popup(QPoint(0, 0))  # opening any menu builds them all, before it shows
    try:
        assert layer.isVisible()
        assert menus(later) == menus(eager)
        assert A["reprompt"] in layer.actions() and later.recent_menu is not None
    finally:
        layer.close()
    later.build_menus()  # the start-up's own call after the first frame: nothing added twice
    assert menus(later) == menus(eager)
    for window in (eager, later):
        window.close()
