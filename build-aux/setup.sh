#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# One entry point for a fresh Debian 12 machine, idempotent:
#   build-aux/setup.sh run    install what is missing, build, open the sample in the app
#                             (with no display: run the CLI on it instead)
#   build-aux/setup.sh test   install what is missing, build, run every test and the sanitizer run
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-run}

packages=(
  gcc pkg-config meson ninja-build
  libglib2.0-dev libjson-glib-dev libopenblas-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libonnx-testdata dataset-fashion-mnist
  libgtk-4-dev libadwaita-1-dev xvfb xauth dbus at-spi2-core
  desktop-file-utils appstream gettext
  python3-pyatspi xdotool imagemagick
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

configure() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
}

# meson's own summary is not a line CI can read; say it plainly too.
# Anything but Ok, Skipped or Expected Fail counts as failed: a timeout too.
summarise() {
  local log=$1
  local ok fail skip timeout unexpected
  ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  unexpected=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  echo "${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} + ${unexpected:-0} )) failed, ${skip:-0} skipped"
}

# CI shows only the end of what it printed: repeat there which tests did not
# pass, with the last lines each wrote, so a failure can be read from the tail.
report_failures() {
  local dir=$1
  grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS) ' "$dir/test-output.txt" || return 0
  [ -f "$dir/meson-logs/testlog.json" ] || return 0
  python3 - "$dir/meson-logs/testlog.json" <<'PY' || true
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
        continue
    print(f"--- {t['name']}: {t['result']} after {t['duration']:.1f} s; its last lines:")
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    print("\n".join(out.splitlines()[-40:]))
PY
}

case "$mode" in
  run)
    configure build
    echo
    if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
      ./build/src/app/lathe --sample
    else
      echo "No display available (neither DISPLAY nor WAYLAND_DISPLAY is set); running the CLI instead of the app."
      ./build/src/cli/lathe-cli eval data/samples/fashion-cnn.onnx
    fi
    ;;
  test)
    configure build
    status=0
    # a busy CI machine may be several times slower than a quiet one: the
    # timeouts stop hangs, not slow runs (the GUI tests' watchdog scales too)
    export LATHE_TIMEOUT_MULTIPLIER=2
    meson test -C build --print-errorlogs --timeout-multiplier "$LATHE_TIMEOUT_MULTIPLIER" 2>&1 | tee build/test-output.txt || status=1
    # The engine again under AddressSanitizer + UndefinedBehaviorSanitizer.
    configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    G_SLICE=always-malloc ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      meson test -C build-asan --print-errorlogs --timeout-multiplier "$LATHE_TIMEOUT_MULTIPLIER" --suite engine --suite onnx --suite data \
        2>&1 | tee build-asan/test-output.txt || status=1
    echo
    report_failures build
    report_failures build-asan
    echo "Tests:     $(summarise build/test-output.txt)"
    echo "Sanitized: $(summarise build-asan/test-output.txt)"
    ok=$(( $(summarise build/test-output.txt | cut -d' ' -f1) + $(summarise build-asan/test-output.txt | cut -d' ' -f1) ))
    failed=$(( $(summarise build/test-output.txt | cut -d' ' -f3) + $(summarise build-asan/test-output.txt | cut -d' ' -f3) ))
    [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
    echo "$ok passed, $failed failed"
    exit "$status"
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac
