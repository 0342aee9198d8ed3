#!/usr/bin/env bash
# Installs wkg 0.16.1 (the WebAssembly package tool of wasm-pkg-tools) for the wasm
# end-to-end tests (tests/tests/wasm.rs), built from crates.io with `cargo install --locked`
# into ${ARCA_TOOLS_DIR:-~/.cache/arca-tools}/wkg (binary: .../wkg/bin/wkg).
#
# Building takes a long time on 2 cores, so it is done once and reused: a second run
# with wkg 0.16.1 already there installs nothing. Called by tests/run. It is built
# unoptimised and without debug info (`--debug`, CARGO_PROFILE_DEV_DEBUG=0): the tests
# need a working wkg, not a fast one, and that roughly halves the build.
#
#   tests/tools/install-wkg.sh            install if missing, print the version
#   WKG_JOBS=N tests/tools/install-wkg.sh  limit cargo's parallel jobs (default: all cores)
set -euo pipefail

WKG_VERSION=0.16.1
ARCA_TOOLS_DIR="${ARCA_TOOLS_DIR:-$HOME/.cache/arca-tools}"
ROOT="$ARCA_TOOLS_DIR/wkg"
WKG="$ROOT/bin/wkg"

wkg_ok() {
  [ -x "$WKG" ] && [ "$("$WKG" --version 2>/dev/null)" = "wkg $WKG_VERSION" ]
}

if ! wkg_ok; then
  mkdir -p "$ROOT"
  echo "building wkg $WKG_VERSION into $ROOT (10-30 minutes on 2 cores, once)"
  jobs=()
  if [ -n "${WKG_JOBS:-}" ]; then
    jobs=(--jobs "$WKG_JOBS")
  fi
  # A private target directory, so the build neither reuses nor disturbs the project's.
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR \
    CARGO_PROFILE_DEV_DEBUG=0 \
    cargo install wkg --version "$WKG_VERSION" --locked --debug --root "$ROOT" \
    --target-dir "$ROOT/build" "${jobs[@]}"
  rm -rf "$ROOT/build"
  wkg_ok || { echo "wkg $WKG_VERSION did not install into $ROOT" >&2; exit 1; }
fi
"$WKG" --version
