# SPDX-License-Identifier: MIT
"""End to end: `lathe --sample`, every layer at 4 bits, then the header
bar's Export… button, the export dialog's folder chooser (a new folder typed
into the file chooser's Name field), Export, and the success page with the
`lathe-cli apply …` command. The folder must hold the artifact and the
window's charts, `lathe-cli check` must pass on it, and the command shown
must write the same model file. Then Close and Ctrl+Q (status 0)."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lathe_atspi as L  # noqa: E402

DIALOG = "Export Artifact"
CHOOSER = "Choose a Name for the Artifact Folder"
ARTIFACT_FILES = {"pipeline.json", "model.onnx", "report.md"}
CHART_FILES = {"size-accuracy.svg", "weights.svg", "layer-sizes.svg"}

L.tap("1..5")

tmp = tempfile.mkdtemp(prefix="lathe-e2e-export-")
try:
    with L.App("--sample") as app:
        win = app.window()
        first = app.wait_full_result(what="the sample's first full-set figures")

        # -- every layer at 4 bits, and its full-set figures
        bits = app.slider("Bits for every layer")
        L.set_value(bits, L.BITS_AT.index(4))
        L.wait(lambda: L.value_text(bits) == "4 bits", "the global bits slider to read 4 bits")
        four = app.wait_full_result(differs_from=first, what="the figures at 4 bits")
        L.check_against_cli(four, L.cli_eval("--bits", "4"))
        L.tap("ok 1 - every layer at 4 bits: %s" % four["size_detail"])

        # -- the header bar's Export… opens the export dialog
        export = L.wait(lambda: L.find(win, "push button", pred=lambda a: a.name.endswith("Export…")),
                        "the header bar's Export… button", dump_root=win)
        L.press(export)
        dialog = L.wait(lambda: app.toplevel(DIALOG), "the export dialog", dump_root=app.acc)

        # -- its folder button opens the file chooser; type a new folder
        outdir = os.path.join(tmp, "fashion-cnn-4bit")
        choose = L.wait(lambda: L.find(dialog, "push button", pred=L.named("Choose the artifact folder")),
                        "the dialog's Choose… button", dump_root=dialog)
        L.press(choose)
        chooser = L.wait(lambda: app.toplevel(CHOOSER), "the folder chooser", dump_root=app.acc)
        L.screenshot("export-1-folder-chooser")
        L.choose_file(chooser, outdir, accept="Select")
        L.wait(lambda: app.toplevel(CHOOSER) is None, "the folder chooser to close", dump_root=app.acc)
        L.wait(lambda: L.find(dialog, "label", pred=lambda a: outdir in L.text(a)),
               "the dialog to show the chosen folder", dump_root=dialog)
        assert not os.path.exists(outdir), "choosing the folder must not create it yet"
        L.screenshot("export-2-dialog-folder-chosen")
        L.tap("ok 2 - Export… opens the dialog; the file chooser sets the new folder %s" % outdir)

        # -- Export, then the success page with the lathe-cli command
        button = L.wait(lambda: L.find(dialog, "push button", pred=lambda a: L.named("Export")(a) and L.sensitive(a)),
                        "the dialog's Export button to be enabled", dump_root=dialog)
        L.press(button)
        command_label = L.wait(lambda: L.find(dialog, "label",
                                              pred=lambda a: L.text(a).startswith("lathe-cli apply ")),
                               "the success page's lathe-cli command", dump_root=dialog)
        command = L.text(command_label)
        L.log("command:", command)
        L.wait(lambda: L.find(dialog, "label", pred=lambda a: L.text(a) == "Exported"),
               "the success page's title", dump_root=dialog)
        # The toast in the main window (AdwToast's title is a label).
        toast = L.wait(lambda: L.find(win, "label", pred=lambda a: L.text(a).startswith("Exported to ")),
                       "the window's Exported to … toast", timeout=10, dump_root=win)
        toast_text = L.text(toast)
        assert os.path.basename(outdir) in toast_text, "the toast names %r" % toast_text
        L.screenshot("export-3-done")

        argv = shlex.split(command)
        assert argv[:2] == ["lathe-cli", "apply"], "command %r" % command
        assert L.SAMPLE in argv and outdir in argv, "command %r names the sample and the folder" % command
        L.tap("ok 3 - Export shows the success page, %r and the toast %r" % (command, toast_text))

        # -- the folder: the artifact, the window's charts, and a passing check
        files = set(os.listdir(outdir))
        missing = (ARTIFACT_FILES | CHART_FILES) - files
        assert not missing, "the folder lacks %s (has %s)" % (sorted(missing), sorted(files))
        for f in ARTIFACT_FILES | CHART_FILES:
            assert os.path.getsize(os.path.join(outdir, f)) > 0, "%s is empty" % f
        for f in CHART_FILES:
            with open(os.path.join(outdir, f), encoding="utf-8") as fp:
                assert "<svg" in fp.read(4096), "%s is not an SVG" % f
        with open(os.path.join(outdir, "report.md"), encoding="utf-8") as fp:
            report = fp.read()
        for f in CHART_FILES:
            assert "`%s`" % f in report, "report.md does not list %s" % f
        check = subprocess.run([L.CLI, "check", os.path.join(outdir, "pipeline.json")],
                               capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert check.returncode == 0, "lathe-cli check exited %d: %s%s" % (
            check.returncode, check.stdout, check.stderr)
        # The command shown writes the same model file (into another folder).
        again = os.path.join(tmp, "again")
        argv = [L.CLI] + [again if a == outdir else a for a in argv[1:]]
        r = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert r.returncode == 0, "%s exited %d: %s" % (shlex.join(argv), r.returncode, r.stderr)
        with open(os.path.join(outdir, "model.onnx"), "rb") as a, open(os.path.join(again, "model.onnx"), "rb") as b:
            assert a.read() == b.read(), "the command's model.onnx differs from the exported one"
        L.tap("ok 4 - the folder holds %s; lathe-cli check passes; the command writes the same model"
              % ", ".join(sorted(files)))

        # -- Close, then Ctrl+Q
        close = L.wait(lambda: L.find(dialog, "push button", pred=L.named("Close")), "the dialog's Close button",
                       dump_root=dialog)
        L.press(close)
        L.wait(lambda: app.toplevel(DIALOG) is None, "the export dialog to close", dump_root=app.acc)
        L.xdotool("mousemove", 600, 600)   # the pointer's window gets the keys
        L.key("ctrl+q")
        status = app.wait_exit(15)
        assert status == 0, "lathe exited with status %d after Ctrl+Q" % status
        L.tap("ok 5 - Close closes the dialog; Ctrl+Q quits with status 0")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
