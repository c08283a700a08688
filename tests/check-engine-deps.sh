#!/bin/sh
# SPDX-License-Identifier: MIT
# The engine must never include GTK, GDK or cairo: the CLI and CI use it
# without a display, and the GUI sits on top of it, never inside it.
set -eu
engine="$1"
hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"](gtk|gdk|cairo|adwaita|gsk|graphene)[/.-]' "$engine" || true)
deps=$(grep -nE "dependency\('(gtk4|libadwaita-1|cairo)" "$engine/meson.build" || true)
if [ -n "$hits$deps" ]; then
  echo "engine/ must not use GTK, GDK or cairo:"
  echo "$hits"
  echo "$deps"
  exit 1
fi
echo "engine/ is free of GTK, GDK and cairo ($(find "$engine" -name '*.[ch]' | wc -l) files checked)"
