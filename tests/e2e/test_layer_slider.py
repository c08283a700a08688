# SPDX-License-Identifier: MIT
"""End to end: `lathe --sample`, one layer's bits slider set through AT-SPI's
Value interface, then another's with a real click and key presses; each
time the scoreboard must show what `lathe-cli eval` prints for the same
plan (exact bytes, size as shown, accuracy and fidelity to two decimals)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lathe_atspi as L  # noqa: E402

L.tap("1..3")

with L.App("--sample") as app:
    app.window()
    first = app.wait_full_result(what="the sample's first full-set figures")
    L.screenshot("layer-slider-1-opened")
    layers = app.layer_sliders("Bits")
    assert set(layers) >= {"conv1.weight", "fc1.weight"}, "per-layer bits sliders: %r" % sorted(layers)
    # Nothing compressed yet, but the app's plan folds BatchNormalization
    # (0.1 % smaller): the CLI's `--bits 32`, not the plain model.
    L.check_against_cli(first, L.cli_eval("--bits", "32"))
    L.tap("ok 1 - the sample opens with the CLI's figures for --bits 32")

    # -- through the Value interface: fc1 (the largest weight) at 2 bits
    fc1 = app.slider("Bits for fc1.weight")
    assert L.value(fc1) == L.BITS_AT.index(32), "fc1 starts at %r" % L.value(fc1)
    L.set_value(fc1, L.BITS_AT.index(2))
    L.wait(lambda: L.value_text(fc1) == "2 bits", "fc1's slider to read 2 bits")
    two = app.wait_full_result(differs_from=first, what="the figures for fc1 at 2 bits")
    L.screenshot("layer-slider-2-fc1-2bits")
    L.check_against_cli(two, L.cli_eval("--layer", "fc1.weight:bits=2"))
    assert L.size_bytes(two)[0] < L.size_bytes(first)[0], "2-bit fc1 must be smaller"
    L.tap("ok 2 - fc1 at 2 bits through Value: scoreboard matches lathe-cli eval")

    # -- as a person: click conv2's trough (focuses it, the value jumps),
    # Home → 1 bit, then three steps right → 4 bits
    conv2 = app.slider("Bits for conv2.weight")
    L.click(conv2, 0.3)
    L.wait(lambda: L.value(conv2) != L.BITS_AT.index(32), "the click to move conv2's slider")
    L.key("Home")
    L.wait(lambda: L.value(conv2) == 0, "Home to move conv2's slider to 1 bit")
    L.key("Right", "Right", "Right")
    L.wait(lambda: L.value_text(conv2) == "4 bits", "three Right presses to reach 4 bits")
    # fc1 still at 2 bits
    assert L.value_text(fc1) == "2 bits", "fc1 moved to %r" % L.value_text(fc1)
    cli = L.cli_eval("--layer", "fc1.weight:bits=2", "--layer", "conv2.weight:bits=4")
    four = app.wait_full_result(differs_from=two, what="the figures for conv2 at 4 bits")
    # The keys passed 1, 2 and 3 bits first; the figures must settle on 4.
    four = L.wait(lambda: (lambda s: s if s["note"].startswith("All ") and
                           L.size_bytes(s)[0] == cli["size_bytes"] else None)(app.scoreboard()),
                  "the figures to settle on conv2 at 4 bits", dump_root=app.acc)
    L.screenshot("layer-slider-3-conv2-4bits-keyboard")
    L.check_against_cli(four, cli)
    L.tap("ok 3 - conv2 at 4 bits by click and keys: scoreboard matches lathe-cli eval")
