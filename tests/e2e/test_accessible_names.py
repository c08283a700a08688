# SPDX-License-Identifier: MIT
"""End to end: what a screen reader reads for the controls of the window
and of the export dialog. GTK 4.8 joins a widget's accessible label with
the names of the widgets that label it, so a button with a mnemonic read
"_Open Open" and the dialog's buttons "Cancel Cancel", "Export Export";
every push button, combo box and slider must be named once, without the
mnemonic's underscore."""

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


L.tap("1..2")

with L.App("--sample") as app:
    win = app.window()
    app.wait_full_result(what="the sample's first full-set figures")
    bad = bad_names(win)
    assert not bad, "named twice or with a raw mnemonic: %s" % ", ".join(bad)
    opened = L.find(win, "push button", "Open Model…")
    assert opened is not None, "the Open Model… button named once"
    L.tap("ok 1 - the window's controls are named once")

    export = L.wait(lambda: L.find(win, "push button", "Export…"), "the header bar's Export… button",
                    dump_root=win)
    L.press(export)
    dialog = L.wait(lambda: app.toplevel("Export Artifact"), "the export dialog", dump_root=app.acc)
    L.wait(lambda: L.find(dialog, "push button", "Export"), "the dialog's Export button", dump_root=dialog)
    L.screenshot("accessible-names-export-dialog")
    bad = bad_names(dialog)
    assert not bad, "named twice or with a raw mnemonic: %s" % ", ".join(bad)
    for role, name in (("push button", "Cancel"), ("push button", "Export"), ("combo box", "Exporter")):
        assert L.find(dialog, role, name) is not None, "the dialog's %s %r" % (role, name)
    L.tap("ok 2 - the export dialog's Cancel, Export and Exporter are named once")
