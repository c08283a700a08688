#!/bin/sh
# SPDX-License-Identifier: MIT
# The translations against the sources: every file with marked strings is
# in po/POTFILES.in, po/lathe.pot holds exactly the msgids the sources mark
# now (`ninja lathe-pot` regenerates it), and every po/<lang>.po in LINGUAS
# translates all of them, none fuzzy. Headers, dates and line references
# do not count.
# Usage: check-po.sh SOURCE_ROOT WORK_DIR
set -eu
src=$1
work=$2
mkdir -p "$work"
cd "$src"
status=0

# Files that mark strings but are not listed.
for f in $(grep -rlIE --include='*.c' --include='*.ui' --include='*.in' --include='*.xml' '(\<N?_ ?\(|\<C_ ?\(|\<ngettext ?\(|translatable="yes")' \
             src/app ui data plugins engine 2>/dev/null | sort); do
  if ! grep -qxF "$f" po/POTFILES.in; then
    echo "not in po/POTFILES.in: $f"
    status=1
  fi
done

# The msgids the sources mark now, extracted as meson's glib preset does.
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
  --keyword=g_dpgettext2:2c,3 --package-name=lathe \
  -D "$src" -f po/POTFILES.in -o "$work/fresh.pot"

# msgcmp DEF REF: every msgid of REF is in DEF. Both ways: the same set.
if ! msgcmp --use-untranslated po/lathe.pot "$work/fresh.pot" ||
   ! msgcmp --use-untranslated "$work/fresh.pot" po/lathe.pot; then
  echo "po/lathe.pot is stale: run ninja -C <builddir> lathe-pot"
  status=1
fi

for lang in $(sed -e 's/#.*//' po/LINGUAS); do
  po="po/$lang.po"
  stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1) || {
    echo "$stats"
    status=1
    continue
  }
  echo "$po: $stats"
  case "$stats" in
    *fuzzy*|*untranslated*) echo "$po has fuzzy or untranslated messages"; status=1 ;;
  esac
  # msgcmp (without --use-untranslated) fails on a msgid of the sources
  # that the .po lacks or leaves untranslated.
  if ! msgcmp "$po" "$work/fresh.pot"; then
    echo "$po does not translate every msgid of the sources: run ninja -C <builddir> lathe-update-po"
    status=1
  fi
done
exit $status
