# SPDX-License-Identifier: MIT
"""End to end: the "Every Layer" sliders on `lathe --sample` (bits to 4 for
every layer, then sparsity up: smaller, less accurate), the main menu, Ctrl+O
and cancelling the file chooser, then Ctrl+Q: the app exits with status 0."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lathe_atspi as L  # noqa: E402

L.tap("1..4")

with L.App("--sample") as app:
    win = app.window()
    first = app.wait_full_result(what="the sample's first full-set figures")

    # -- bits for every layer: 4 bits, every per-layer slider follows
    bits = app.slider("Bits for every layer")
    L.set_value(bits, L.BITS_AT.index(4))
    L.wait(lambda: L.value_text(bits) == "4 bits", "the global bits slider to read 4 bits")
    layers = app.layer_sliders("Bits")
    assert len(layers) == 5, "five weight layers in the sample, got %r" % sorted(layers)
    L.wait(lambda: all(L.value_text(s) == "4 bits" for s in layers.values()),
           "every layer's bits slider to follow to 4 bits")
    four = app.wait_full_result(differs_from=first, what="the figures at 4 bits")
    L.screenshot("global-1-bits4")
    L.check_against_cli(four, L.cli_eval("--bits", "4"))
    packed4 = L.size_bytes(four)[0]
    assert "× smaller · ONNX file " in four["size_detail"], "ratio %r" % four["size_detail"]
    ratio4 = float(four["size_detail"].split("×")[0])
    assert 7.0 < ratio4 < 8.0, "4 bits stores float32 about 7.6× smaller, shown %r" % four["size_detail"]
    L.tap("ok 1 - bits for every layer: every layer at 4 bits, %s, matches lathe-cli eval --bits 4"
          % four["size_detail"])

    # -- sparsity for every layer: 60 % prunes; smaller, less accurate
    sparsity = app.slider("Sparsity for every layer")
    L.set_value(sparsity, 60)
    L.wait(lambda: L.value_text(sparsity) == "60 %", "the global sparsity slider to read 60 %")
    sparse = app.wait_full_result(differs_from=four, what="the figures at 4 bits, 60 % sparse")
    L.screenshot("global-2-bits4-sparsity60")
    L.check_against_cli(sparse, L.cli_eval("--bits", "4", "--sparsity", "0.6"))
    assert L.size_bytes(sparse)[0] < packed4, "pruning must shrink the model"
    assert float(sparse["size_detail"].split("×")[0]) > ratio4, "the ratio must grow"
    acc4 = float(L.accuracy_after(four).split("\u00a0")[0])
    acc_sparse = float(L.accuracy_after(sparse).split("\u00a0")[0])
    assert acc_sparse < acc4, "60 %% pruning must cost accuracy: %s → %s" % (acc4, acc_sparse)
    assert sparse["delta"].startswith("−"), "the change must read as a fall: %r" % sparse["delta"]
    L.tap("ok 2 - sparsity 60 %%: %s, accuracy %.2f → %.2f, matches lathe-cli eval"
          % (sparse["size_detail"], acc4, acc_sparse))

    # -- the main menu opens and offers Open Model…; Escape closes it
    menu = L.wait(lambda: L.find(win, "push button", "Main Menu"), "the Main Menu button", dump_root=app.acc)
    L.click(menu)
    item = L.wait(lambda: L.find(app.acc, "menu item", pred=lambda a: "Open Model" in a.name),
                  "the menu's Open Model… item", dump_root=app.acc)
    L.screenshot("global-3-main-menu")
    L.key("Escape")
    L.wait(lambda: not L.find(app.acc, "menu item", pred=lambda a: "Open Model" in a.name),
           "the menu to close", dump_root=app.acc)

    # -- Ctrl+O opens the file chooser (a second toplevel, no portal);
    # Cancel closes it and changes nothing
    L.xdotool("mousemove", 600, 600)   # the pointer's window gets the keys
    L.key("ctrl+o")
    chooser = L.wait(lambda: app.toplevel("Open Model"), "the Open Model file chooser", dump_root=app.acc)
    L.screenshot("global-4-file-chooser")
    cancel = L.wait(lambda: L.find(chooser, "push button", pred=lambda a: a.name.endswith("Cancel")),
                    "the chooser's Cancel button", dump_root=chooser)
    cancel.queryAction().doAction(0)
    L.wait(lambda: app.toplevel("Open Model") is None, "the chooser to close", dump_root=app.acc)
    after = app.scoreboard()
    assert after == sparse, "cancelling changed the scoreboard: %r" % after
    L.screenshot("global-5-chooser-cancelled")
    L.tap("ok 3 - main menu opens; Ctrl+O opens the file chooser and Cancel closes it")

    # -- Ctrl+Q quits cleanly
    L.xdotool("mousemove", 600, 600)
    L.key("ctrl+q")
    status = app.wait_exit(15)
    assert status == 0, "lathe exited with status %d after Ctrl+Q" % status
    L.tap("ok 4 - Ctrl+Q quits with status 0")
