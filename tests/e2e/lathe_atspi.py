# SPDX-License-Identifier: MIT
"""Drive the real `lathe` binary as a person would: through AT-SPI (what a
screen reader sees) and XTest input (xdotool), under Xvfb and a private
D-Bus session. See /work/shared/GUI-TESTING.md for what works on Debian 12.

Run by tests/e2e/meson.build as
  build-aux/xvfb-run-test dbus-run-session -- \
      /usr/bin/python3 tests/e2e/test_<name>.py
(xvfb-run -a -s "-noreset -screen 0 1280x800x24" does as well by hand)
with LATHE_APP, LATHE_CLI, LATHE_SAMPLE and LATHE_E2E_OUTDIR in the
environment (meson sets them; running by hand, they default to ./build).

Readable on failure: every wait names what it waited for and prints the
accessible tree it saw last.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pyatspi

APP_ID = "io.github.lathe.Lathe"
# Generous: the first evaluation of the full test set runs on a shared
# 2-core machine.
TIMEOUT = float(os.environ.get("LATHE_E2E_TIMEOUT", "90"))

_SOURCE_DIR = os.environ.get(
    "LATHE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_BUILD_DIR = os.environ.get("LATHE_BUILD_DIR", os.path.join(_SOURCE_DIR, "build"))
APP = os.environ.get("LATHE_APP", os.path.join(_BUILD_DIR, "src", "app", "lathe"))
CLI = os.environ.get("LATHE_CLI", os.path.join(_BUILD_DIR, "src", "cli", "lathe-cli"))
SAMPLE = os.environ.get("LATHE_SAMPLE", os.path.join(_SOURCE_DIR, "data", "samples", "fashion-cnn.onnx"))
OUTDIR = os.environ.get("LATHE_E2E_OUTDIR", os.path.join(_BUILD_DIR, "tests", "e2e"))
SCREENSHOTS = os.path.join(OUTDIR, "screenshots")

# The bits slider's positions (src/app/lathe-app-format.c).
BITS_AT = [1, 2, 3, 4, 5, 6, 7, 8, 16, 32]


# TAP goes to LATHE_TAP_FD: meson.build points the test's stdout there and
# sends fd 1 to stderr, because the AT-SPI registry that dbus-run-session
# starts prints to the stdout it inherits, which is not TAP.
try:
    _TAP = os.fdopen(int(os.environ.get("LATHE_TAP_FD", "1")), "w", buffering=1, closefd=False)
except OSError:
    _TAP = sys.stdout


def tap(line):
    """One TAP line: "1..N", "ok N - …", "not ok …"."""
    _TAP.write(line + "\n")
    _TAP.flush()


def log(*args):
    tap("# " + " ".join(str(a) for a in args))


# ----------------------------------------------------------------------
# Waiting and finding


class Timeout(AssertionError):
    pass


def wait(fn, what, timeout=None, interval=0.05, dump_root=None):
    """Polls fn() until it returns something true, and returns that.
    AT-SPI calls can raise while widgets come and go: that is a retry."""
    end = time.monotonic() + (timeout or TIMEOUT)
    last_error = None
    while True:
        try:
            r = fn()
            if r:
                return r
        except Exception as e:  # noqa: BLE001 — the tree changes under us
            last_error = e
        if time.monotonic() >= end:
            break
        time.sleep(interval)
    if dump_root is not None:
        try:
            dump(dump_root)
        except Exception:  # noqa: BLE001
            pass
    raise Timeout("timed out after %.0f s waiting for %s%s" %
                  (timeout or TIMEOUT, what, "" if last_error is None else " (last error: %r)" % last_error))


def role(acc):
    return acc.getRoleName()


def find(root, role_name, name=None, pred=None):
    """The first descendant with this role (and name, and pred), or None."""
    return pyatspi.findDescendant(
        root, lambda a: a is not None and a.getRoleName() == role_name and
        (name is None or a.name == name) and (pred is None or pred(a)))


def find_all(root, role_name, pred=None):
    return pyatspi.findAllDescendants(
        root, lambda a: a is not None and a.getRoleName() == role_name and (pred is None or pred(a)))


def children(acc):
    return [acc.getChildAtIndex(i) for i in range(acc.childCount)]


def text(acc):
    """A label's text. getText(0, -1) returns '' in GTK 4.8."""
    t = acc.queryText()
    return t.getText(0, t.characterCount)


def value(acc):
    return acc.queryValue().currentValue


def set_value(acc, v):
    acc.queryValue().currentValue = v


def value_text(acc):
    """A slider's value as spoken ("4 bits", "50 %"). GTK 4.8 does not
    export the value text over AT-SPI (Atspi.Value.get_text is None), so
    Lathe puts it in the slider's description as well."""
    from gi.repository import Atspi
    try:
        t = Atspi.Value.get_text(acc)
    except Exception:  # noqa: BLE001 — older libatspi
        t = None
    return t or acc.description


def extents(acc):
    """Window-relative, which are screen coordinates with no window manager
    (every toplevel sits at 0,0)."""
    e = acc.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    return e.x, e.y, e.width, e.height


def dump(root, depth=0, max_depth=40, out=sys.stdout):
    try:
        name = root.name
        extra = ""
        if root.getRoleName() == "label":
            extra = " text=%r" % text(root)
        elif root.getRoleName() == "slider":
            extra = " value=%r" % value(root)
        out.write("%s[%s %r]%s\n" % ("  " * depth, root.getRoleName(), name, extra))
    except Exception as e:  # noqa: BLE001
        out.write("%s<gone: %r>\n" % ("  " * depth, e))
        return
    if depth < max_depth:
        for c in children(root):
            if c is not None:
                dump(c, depth + 1, max_depth, out)
    out.flush()


def named(name):
    """A predicate for an accessible name that says `name` first or last:
    GTK 4.8 joins a widget's label property, its labelled-by widgets and a
    button's own label ("Export Export", "_Export… Export…")."""
    return lambda a: a.name == name or a.name.startswith(name + " ") or a.name.endswith(" " + name)


def sensitive(acc):
    """Enabled (an insensitive button ignores its click action)."""
    return acc.getState().contains(pyatspi.STATE_SENSITIVE)


def press(acc):
    """A button's "click" action, as a screen reader user would press it."""
    action = acc.queryAction()
    names = [action.getName(i) for i in range(action.nActions)]
    action.doAction(names.index("click") if "click" in names else 0)


def choose_file(chooser, path, accept):
    """Types an absolute path into a GtkFileChooserDialog's Name field (a
    portal-less GtkFileChooserNative; its file list is not exposed) and
    presses the button whose name ends with `accept` ("Save", "Select")."""
    entry = wait(lambda: find(chooser, "text", pred=lambda a: a.queryEditableText() is not None),
                 "the file chooser's Name field", dump_root=chooser)
    entry.queryEditableText().setTextContents(path)
    wait(lambda: text(entry) == path, "the Name field to read %r" % path, dump_root=chooser)
    button = wait(lambda: find(chooser, "push button", pred=lambda a: a.name.endswith(accept) and sensitive(a)),
                  "the file chooser's %s button" % accept, dump_root=chooser)
    press(button)


# ----------------------------------------------------------------------
# XTest input


def xdotool(*args):
    subprocess.run(["xdotool", *[str(a) for a in args]], check=True)


def click(acc, fx=0.5, fy=0.5):
    """A real pointer click at a fraction of the widget's extents."""
    x, y, w, h = extents(acc)
    xdotool("mousemove", int(x + fx * w), int(y + fy * h), "click", "1")


def key(*keys):
    """Key presses (xdotool names: Home, Right, ctrl+o …) to the focused
    widget; with no window manager the pointer's window gets the keys."""
    xdotool("key", "--delay", "30", *keys)


# ----------------------------------------------------------------------
# The app


def screenshot(name):
    """The whole X screen to <build>/tests/e2e/screenshots/<name>.png."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, name + ".png")
    subprocess.run(["import", "-window", "root", path], check=True)
    log("screenshot", path)
    return path


class App:
    """`lathe ARGS…` spawned with the renderer and a11y settings of
    GUI-TESTING.md; a context manager that kills it if a test failed."""

    def __init__(self, *args):
        self.config = tempfile.mkdtemp(prefix="lathe-e2e-")
        os.makedirs(os.path.join(self.config, "gtk-4.0"))
        with open(os.path.join(self.config, "gtk-4.0", "settings.ini"), "w") as f:
            # no cross-fades: screenshots show the state waited for
            f.write("[Settings]\ngtk-enable-animations=false\n")
        env = dict(os.environ)
        for var in ("NO_AT_BRIDGE", "GTK_A11Y", "GTK_DEBUG"):
            env.pop(var, None)
        env.update({
            "GDK_DEBUG": "gl-disable",
            "GSK_RENDERER": "cairo",
            "GSETTINGS_BACKEND": "memory",
            "XDG_CONFIG_HOME": self.config,
            "LC_ALL": "C.UTF-8",
            "LANGUAGE": "",
        })
        self.started = time.monotonic()
        self.proc = subprocess.Popen([APP, *args], env=env)
        self.acc = wait(self._find_app, "the app on the accessibility bus")
        log("app on the bus after %.2f s" % (time.monotonic() - self.started))

    def _find_app(self):
        if self.proc.poll() is not None:
            raise AssertionError("lathe exited with status %d before it showed up" % self.proc.returncode)
        for a in pyatspi.Registry.getDesktop(0):
            if a is not None and a.name in ("lathe", APP_ID) and a.get_process_id() == self.proc.pid \
                    and a.childCount > 0:
                return a
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        shutil.rmtree(self.config, ignore_errors=True)
        return False

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def wait_exit(self, timeout=15):
        return self.proc.wait(timeout)

    def toplevels(self):
        return [c for c in children(self.acc) if c is not None]

    def window(self, title_prefix="Lathe"):
        """The main window (role frame)."""
        return wait(lambda: next((w for w in self.toplevels() if w.getRoleName() == "frame"
                                  and (w.name or "").startswith(title_prefix)), None),
                    "the main window")

    def toplevel(self, name):
        """Another toplevel (a file chooser is role filler, named by its title)."""
        return next((w for w in self.toplevels() if w.name == name), None)

    # -- the explorer window ------------------------------------------

    def slider(self, name):
        return wait(lambda: find(self.window(), "slider", name), "the slider %r" % name,
                    dump_root=self.acc)

    def layer_sliders(self, kind="Bits"):
        """Per-layer sliders {layer name: accessible}, e.g. "Bits for fc1.weight"."""
        prefix = kind + " for "
        every = kind + " for every layer"
        found = find_all(self.window(), "slider",
                         lambda a: a.name.startswith(prefix) and a.name != every)
        return {a.name[len(prefix):]: a for a in found}

    def scoreboard(self):
        """What the scoreboard's cards read: size, size_detail, size_bytes
        (the exact figures in the size label's accessible description),
        accuracy, delta, note, fidelity."""
        win = self.window()
        size_title = find(win, "label", "Size")
        acc_title = find(win, "label", "Accuracy")
        fid_title = find(win, "label", "Fidelity")
        if not (size_title and acc_title and fid_title):
            return None
        size_card = [c for c in children(size_title.parent) if c.getRoleName() == "label"]
        # Accuracy's title shares a row with the spinner; the card holds the
        # row, the figure, then a row with the change and the note.
        acc_card = children(acc_title.parent.parent)
        delta_row = [c for c in children(acc_card[2]) if c.getRoleName() == "label"]
        fid_card = [c for c in children(fid_title.parent) if c.getRoleName() == "label"]
        return {
            "size": text(size_card[1]),
            "size_detail": text(size_card[2]),
            "size_description": size_card[1].description,
            "accuracy": text(acc_card[1]),
            "delta": text(delta_row[0]) if len(delta_row) > 1 else "",
            "note": text(delta_row[-1]),
            "fidelity": text(fid_card[1]),
        }

    def wait_scores(self, pred, what):
        return wait(lambda: (lambda s: s if s and pred(s) else None)(self.scoreboard()), what,
                    dump_root=self.acc)

    def wait_full_result(self, differs_from=None, what="the scoreboard's full-set figures"):
        """Waits for figures of the whole test set ("All 10,000 samples")
        that differ from `differs_from` (the figures of the last plan)."""
        def done(s):
            if "→" not in s["accuracy"] or not s["note"].startswith("All "):
                return False
            if differs_from is not None and all(s[k] == differs_from[k] for k in
                                                ("size", "size_description", "accuracy", "fidelity")):
                return False
            return True
        t0 = time.monotonic()
        s = self.wait_scores(done, what)
        log("%s after %.2f s: %r" % (what, time.monotonic() - t0, s))
        return s


# ----------------------------------------------------------------------
# The CLI and the scoreboard's formats


def cli_eval(*plan_args):
    """`lathe-cli eval SAMPLE PLAN… --json`, parsed."""
    import json
    cmd = [CLI, "eval", SAMPLE, *plan_args, "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
    if r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
    out = json.loads(r.stdout)
    log("cli:", " ".join(plan_args), "→ accuracy", out["accuracy"], "size_bytes", out["size_bytes"])
    return out


def format_accuracy(a):
    """lathe_format_accuracy: percent, two decimals, no-break space."""
    return "%.2f\u00a0%%" % (100.0 * a)


def format_size(n):
    from gi.repository import GLib
    return GLib.format_size(n)


def accuracy_after(scores):
    """The figure after the arrow of "89.51 % → 79.56 %"."""
    return scores["accuracy"].split("→")[-1].strip()


def size_bytes(scores):
    """(compressed, original) bytes from the size label's description."""
    import re
    nums = [int(n.replace(",", "").replace("\u202f", "").replace("\u00a0", ""))
            for n in re.findall(r"\d[\d,\u202f\u00a0]*", scores["size_description"] or "")]
    if len(nums) != 2:
        raise AssertionError("no exact sizes in the size label's description %r" % scores["size_description"])
    return nums[0], nums[1]


def check_against_cli(scores, cli):
    """The scoreboard and `lathe-cli eval` agree on a plan: exact bytes,
    the sizes as shown, and the accuracy to the two decimals shown."""
    packed, original = size_bytes(scores)
    assert packed == cli["size_bytes"], "app %d bytes, CLI %d" % (packed, cli["size_bytes"])
    assert original == cli["baseline_size_bytes"], \
        "app original %d bytes, CLI %d" % (original, cli["baseline_size_bytes"])
    shown = scores["size"].split("→")[-1].strip()
    assert shown == format_size(cli["size_bytes"]), "app shows %r, CLI %r" % (shown, format_size(cli["size_bytes"]))
    assert accuracy_after(scores) == format_accuracy(cli["accuracy"]), \
        "app accuracy %r, CLI %r" % (accuracy_after(scores), format_accuracy(cli["accuracy"]))
    assert scores["fidelity"] == format_accuracy(cli["fidelity"]), \
        "app fidelity %r, CLI %r" % (scores["fidelity"], format_accuracy(cli["fidelity"]))


def skip(reason):
    """Exit status 77: meson counts the test as skipped."""
    tap("1..0 # SKIP " + reason)
    sys.exit(77)
