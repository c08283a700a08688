# SPDX-License-Identifier: MIT
"""End to end: what a screen reader reads for the controls of the window,
the evaluation data dialog and the export dialog. GTK 4.8 joins a widget's accessible label with
the names of the widgets that label it, so a button with a mnemonic read
"_Open Open" and the dialog's buttons "Cancel Cancel", "Export Export";
every push button, combo box and slider must be named once, without the
mnemonic's underscore, and buttons named apart from their label ("Cancel
Training" for "_Cancel") by that name alone."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lathe_atspi as L  # noqa: E402

ROLES = ("push button", "toggle button", "combo box", "slider", "check box", "menu item")


def repeated(name):
    """ "Cancel Cancel", "_Open Model… Open Model…": the name's two halves alike."""
    words = name.replace("_", "").split(" ")
    half = len(words) // 2
    return len(words) % 2 == 0 and half > 0 and words[:half] == words[half:]


def bad_names(root):
    bad = []
    for acc in _walk(root):
        try:
            role, name = acc.getRoleName(), acc.name or ""
        except Exception:  # noqa: BLE001 — gone while walking
            continue
        if role in ROLES and (repeated(name) or "_" in name.split(" ")[0][:1]):
            bad.append("%s %r" % (role, name))
    return bad


def _walk(acc):
    yield acc
    for c in L.children(acc):
        if c is not None:
            yield from _walk(c)


L.tap("1..3")

with L.App("--sample") as app:
    win = app.window()
    app.wait_full_result(what="the sample's first full-set figures")
    bad = bad_names(win)
    assert not bad, "named twice or with a raw mnemonic: %s" % ", ".join(bad)
    for name in ("Open Model…", "Export…", "Distil", "Cancel Training", "Pin Current Plan"):
        assert L.find(win, "push button", name) is not None, "the window's button %r" % name
    L.tap("ok 1 - the window's controls are named once")

    # -- the main menu's Evaluation Data… opens the data dialog
    menu = L.wait(lambda: L.find(win, "push button", "Main Menu"), "the Main Menu button", dump_root=app.acc)
    L.click(menu)
    item = L.wait(lambda: L.find(app.acc, "menu item", pred=lambda a: "Evaluation Data" in a.name),
                  "the menu's Evaluation Data… item", dump_root=app.acc)
    L.press(item)
    data = L.wait(lambda: app.toplevel("Evaluation Data"), "the data dialog", dump_root=app.acc)
    L.wait(lambda: L.find(data, "push button", "Use"), "the data dialog's Use button", dump_root=data)
    bad = bad_names(data)
    assert not bad, "named twice or with a raw mnemonic: %s" % ", ".join(bad)
    for name in ("Cancel", "Use", "Choose the images file", "Choose the labels file"):
        assert L.find(data, "push button", name) is not None, "the data dialog's button %r" % name
    L.press(L.find(data, "push button", "Cancel"))
    L.wait(lambda: app.toplevel("Evaluation Data") is None, "the data dialog to close", dump_root=app.acc)
    L.tap("ok 2 - the data dialog's buttons are named once")

    export = L.wait(lambda: L.find(win, "push button", "Export…"), "the header bar's Export… button",
                    dump_root=win)
    L.press(export)
    dialog = L.wait(lambda: app.toplevel("Export Artifact"), "the export dialog", dump_root=app.acc)
    L.wait(lambda: L.find(dialog, "push button", "Export"), "the dialog's Export button", dump_root=dialog)
    L.screenshot("accessible-names-export-dialog")
    bad = bad_names(dialog)
    assert not bad, "named twice or with a raw mnemonic: %s" % ", ".join(bad)
    for role, name in (("push button", "Cancel"), ("push button", "Export"), ("combo box", "Exporter"),
                       ("push button", "Choose the artifact folder")):
        assert L.find(dialog, role, name) is not None, "the dialog's %s %r" % (role, name)
    L.tap("ok 3 - the export dialog's Cancel, Export, Choose… and Exporter are named once")
