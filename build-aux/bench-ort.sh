#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Reference figures from ONNX Runtime's CPU provider on the sample models,
# measured the same way as the engine's own benchmark: the 10 000
# Fashion-MNIST test images at batch 1000, all cores.
#
#   build-aux/bench-ort.sh [--threads N] [--batch N] [--passes N] [MODEL.onnx ...]
#
# onnxruntime-node (its CPU binaries ship inside the npm package) is installed
# from the npm registry into a cache folder outside the repository and reused:
#   LATHE_ORT_DIR   default ${XDG_CACHE_HOME:-$HOME/.cache}/lathe/ort
# Exit status 77 (skip) when node or npm is missing.
set -euo pipefail

ORT_VERSION=1.30.0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-ort: '$tool' not found; install Node.js 18+ and npm (apt-get install nodejs npm) to run this benchmark" >&2
    exit 77
  fi
done

node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 18 )); then
  echo "bench-ort: node $(node --version) is too old; onnxruntime-node $ORT_VERSION needs node 18 or newer" >&2
  exit 77
fi

ort_dir=${LATHE_ORT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lathe/ort}
pkg_json=$ort_dir/node_modules/onnxruntime-node/package.json

installed_version() {
  [[ -f $pkg_json ]] || return 0
  node -p 'require(process.argv[1]).version' "$pkg_json" 2>/dev/null || true
}

if [[ $(installed_version) != "$ORT_VERSION" ]]; then
  # Only ever replace a folder this script made (or an empty one).
  if [[ -d $ort_dir && -n $(ls -A "$ort_dir") ]] &&
     ! grep -qs '"lathe-ort-bench"' "$ort_dir/package.json"; then
    echo "bench-ort: $ort_dir exists and was not made by this script; remove it or set LATHE_ORT_DIR" >&2
    exit 1
  fi
  echo "bench-ort: installing onnxruntime-node@$ORT_VERSION into $ort_dir" >&2
  mkdir -p "$(dirname "$ort_dir")"
  stage=$(mktemp -d "$ort_dir.tmp.XXXXXX")
  chmod 755 "$stage"
  trap 'rm -rf "$stage"' EXIT
  printf '{ "name": "lathe-ort-bench", "private": true }\n' >"$stage/package.json"
  # The CPU provider is inside the package; the postinstall script would only
  # fetch CUDA binaries, which we neither want nor can download.
  ONNXRUNTIME_NODE_INSTALL=skip \
    npm install --prefix "$stage" --no-audit --no-fund --ignore-scripts \
      --loglevel=error "onnxruntime-node@$ORT_VERSION" >&2
  rm -rf "$ort_dir"
  mv "$stage" "$ort_dir"
  trap - EXIT
  if [[ $(installed_version) != "$ORT_VERSION" ]]; then
    echo "bench-ort: installation into $ort_dir failed" >&2
    exit 1
  fi
fi

cd "$root"
LATHE_ORT_DIR=$ort_dir exec node "$here/bench-ort.mjs" "$@"
