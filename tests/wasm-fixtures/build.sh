#!/usr/bin/env bash
# Builds the fixture binaries and, with --update-prebuilt, refreshes the checked-in copies
# in prebuilt/ that the `wasm` plugin's unit tests read.
#
#   tests/wasm-fixtures/build.sh [--update-prebuilt] [OUT_DIR]
#
# OUT_DIR (default: <repo>/target/wasm-fixtures/out) receives
#   hello-http.wasm    wasip2 component exporting wasi:http/incoming-handler@0.2.x
#   greet.wasm         wasip2 component exporting arca:hello/greet@0.1.0
#   hello-wasip1.wasm  core module, wasip1 command (_start, wasi_snapshot_preview1 imports)
#   add.wasm           core module without imports (wasm32-unknown-unknown)
#
# Needs the rustup targets wasm32-wasip2, wasm32-wasip1 and wasm32-unknown-unknown.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
update=0
if [ "${1:-}" = "--update-prebuilt" ]; then
  update=1
  shift
fi
out="${1:-$root/target/wasm-fixtures/out}"
target_dir="${WASM_FIXTURES_TARGET_DIR:-$root/target/wasm-fixtures}"
mkdir -p "$out"

for t in wasm32-wasip2 wasm32-wasip1 wasm32-unknown-unknown; do
  if ! rustup target list --installed | grep -qx "$t"; then
    rustup target add "$t"
  fi
done

build() { # target, package
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR \
    cargo build --quiet --release --locked --manifest-path "$here/Cargo.toml" \
    --target-dir "$target_dir" --target "$1" -p "$2"
}
build wasm32-wasip2 hello-http
build wasm32-wasip2 greet
build wasm32-wasip1 hello-wasip1
build wasm32-unknown-unknown add

cp "$target_dir/wasm32-wasip2/release/hello_http.wasm" "$out/hello-http.wasm"
cp "$target_dir/wasm32-wasip2/release/greet.wasm" "$out/greet.wasm"
cp "$target_dir/wasm32-wasip1/release/hello-wasip1.wasm" "$out/hello-wasip1.wasm"
cp "$target_dir/wasm32-unknown-unknown/release/add.wasm" "$out/add.wasm"

if [ "$update" = 1 ]; then
  cp "$out"/*.wasm "$here/prebuilt/"
  echo "updated $here/prebuilt"
fi
ls -l "$out"
