#!/usr/bin/env bash
# Installs what the signature end-to-end tests (tests/tests/signatures.rs) and the
# signature plugin's fixture script (tests/py/signature_fixtures.py) drive:
#   - sigstore-js 4.1.1, @sigstore/mock 0.12.1, @sigstore/oci 0.6.0 (+ promise-retry) from
#     tests/js/package-lock.json, with `npm ci` (Node >= 20 is required);
#   - cryptography, jwcrypto and cbor2, pinned, into the tools venv
#     (${ARCA_TOOLS_DIR:-~/.cache/arca-tools}/venv, created if missing);
#   - openssl (Debian), if missing.
# Idempotent: a second run installs nothing. Called by tests/run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ARCA_TOOLS_DIR="${ARCA_TOOLS_DIR:-$HOME/.cache/arca-tools}"
VENV="$ARCA_TOOLS_DIR/venv"
PY_PACKAGES=("cryptography==50.0.2" "jwcrypto==1.6.1" "cbor2==6.3.0")

SUDO=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo -n)
fi

if ! command -v openssl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 update -q
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -q openssl
fi
openssl version

# Node: sigstore-js 4 needs Node ^20.17 || >= 22.9.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node and npm (Node >= 20.17) are required for the Sigstore tests; install them first" >&2
  exit 1
fi
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (!((maj === 20 && min >= 17) || (maj === 22 && min >= 9) || maj > 22)) {
    console.error(`Node ${process.versions.node} is too old for sigstore-js 4 (need ^20.17 || >=22.9)`);
    process.exit(1);
  }'
echo "node $(node --version)"

# npm ci only when the lock file changed since the last install.
STAMP=tests/js/node_modules/.arca-package-lock.json
if ! cmp -s tests/js/package-lock.json "$STAMP"; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
  cp tests/js/package-lock.json "$STAMP"
fi
node -e 'for (const p of ["sigstore", "@sigstore/mock", "@sigstore/oci", "promise-retry"]) {
  const v = require(require.resolve(`${p}/package.json`, { paths: ["tests/js"] })).version;
  console.log(p, v);
}'

# Python packages in the tools venv.
py_ok() {
  "$VENV/bin/python" - "${PY_PACKAGES[@]}" <<'PY'
import sys, importlib.metadata as m
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        got = m.version(name)
    except m.PackageNotFoundError:
        got = None
    assert got == want, f"{name}: {got or 'not installed'}, want {want}"
PY
}
if ! py_ok 2>/dev/null; then
  if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$ARCA_TOOLS_DIR"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
  py_ok
fi
"$VENV/bin/python" -c 'import importlib.metadata as m; print(*(f"{p} {m.version(p)}" for p in ("cryptography", "jwcrypto", "cbor2")))'
