#!/usr/bin/env python3
"""Fetch the JSON schemas the sbom plugin embeds, reproducibly.

Downloads exact, pinned package versions from the package registries (PyPI or npm for
CycloneDX, crates.io for SPDX), checks each download against its pinned checksum,
extracts the schema files and their licenses, adapts them (see ADAPTATION below) and
writes them next to this script:

    cyclonedx/bom-1.2.schema.json … bom-1.7.schema.json, spdx.schema.json,
    jsf-0.82.schema.json, cryptography-defs.schema.json, LICENSE, NOTICE
    spdx/spdx-2.3.schema.json, LICENSE
    SOURCES.json   what was fetched, with the checksums of inputs and outputs

Usage:
    python3 plugins/sbom/schemas/fetch.py            # (re)write the files
    python3 plugins/sbom/schemas/fetch.py --check    # fail if the files differ from a fresh fetch
    python3 plugins/sbom/schemas/fetch.py --cyclonedx-source npm   # the same schemas from npm

Only the Python standard library is used. ADAPTATION (the only changes made):

1. Files are renamed from `X.SNAPSHOT.schema.json` to `X.schema.json`, and every `$ref`
   naming a sibling file is rewritten the same way, so `spdx.schema.json` resolves against
   the schema's `$id` (`http://cyclonedx.org/schema/…`) to the `$id` of the sibling, which
   the plugin registers locally: nothing is ever fetched over the network at run time.
2. `$id`s that are bare JSON pointers (`"$id": "#/properties/bomFormat"`, in the 1.2 and
   1.3 schemas) are dropped: they are not valid anchors and identify nothing.
3. Annotation keywords that never affect validation (`description`, `title`, `examples`,
   `$comment`, `meta:enum`) are removed from schema objects (never from property names),
   and the JSON is written compactly, to keep the plugin's WebAssembly small.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Pinned inputs. Checksums are those the registries publish for these exact files.
CYCLONEDX_PYPI = {
    "registry": "PyPI",
    "package": "cyclonedx-python-lib",
    "version": "11.12.0",
    "url": "https://files.pythonhosted.org/packages/cf/f0/b2cb999244f2f4194df63ecff6939228178fa63a33be809c412684ca8db7/cyclonedx_python_lib-11.12.0-py3-none-any.whl",
    "sha256": "0e807521a921a5c3cb8ce1153f8a61d29eedfe76a46aac2796b7c6b573391a54",
    "schema_dir": "cyclonedx/schema/_res/",
    "license": "cyclonedx_python_lib-11.12.0.dist-info/licenses/LICENSE",
    "notice": "cyclonedx_python_lib-11.12.0.dist-info/licenses/NOTICE",
    "spdx_license": "Apache-2.0",
}
CYCLONEDX_NPM = {
    "registry": "npm",
    "package": "@cyclonedx/cyclonedx-library",
    "version": "10.3.0",
    "url": "https://registry.npmjs.org/@cyclonedx/cyclonedx-library/-/cyclonedx-library-10.3.0.tgz",
    "sha512": "RIT28sp1U0PCHaaeF3yNRwk6Jig/XJ8UsYAVOMYaHQ+0VVOvsjcp0PTWQFLUqJFF8XMud+Kdq6G+wtDAh+QJFA==",
    "schema_dir": "package/res/schema/",
    "license": "package/LICENSE",
    "notice": "package/NOTICE",
    "spdx_license": "Apache-2.0",
}
SPDX_CRATE = {
    "registry": "crates.io",
    "package": "serde-spdx",
    "version": "0.10.0",
    "url": "https://static.crates.io/crates/serde-spdx/serde-spdx-0.10.0.crate",
    "sha256": "c90607c8da0432c051f7d9febb44b31a97daf0841c168052b1df21176150bb97",
    "schema": "serde-spdx-0.10.0/schemas/spdx_2_3.json",
    "license": "serde-spdx-0.10.0/LICENSE",
    "spdx_license": "MIT",
}

CYCLONEDX_VERSIONS = ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]
CYCLONEDX_SIBLINGS = ["spdx", "jsf-0.82", "cryptography-defs"]

ANNOTATIONS = {"description", "title", "examples", "$comment", "meta:enum"}
SCHEMA_MAPS = {"properties", "patternProperties", "definitions", "$defs", "dependentSchemas"}
SCHEMA_ONE = {
    "additionalItems", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedProperties", "unevaluatedItems",
}
SCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}


def download(spec: dict) -> bytes:
    print(f"fetching {spec['registry']} {spec['package']} {spec['version']}", file=sys.stderr)
    req = urllib.request.Request(spec["url"], headers={"User-Agent": "arca-sbom-schema-fetch"})
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    if "sha256" in spec:
        got = hashlib.sha256(data).hexdigest()
        if got != spec["sha256"]:
            sys.exit(f"{spec['url']}: sha256 {got}, expected {spec['sha256']}")
    if "sha512" in spec:
        got = base64.b64encode(hashlib.sha512(data).digest()).decode()
        if got != spec["sha512"]:
            sys.exit(f"{spec['url']}: sha512 {got}, expected {spec['sha512']}")
    return data


class Archive:
    """A wheel (zip) or a .tgz/.crate (gzip'd tar), read by member name."""

    def __init__(self, data: bytes):
        if data[:2] == b"PK":
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.tar = None
        else:
            self.zip = None
            self.tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        member = self.tar.getmember(name)
        f = self.tar.extractfile(member)
        if f is None:
            sys.exit(f"{name} is not a regular file")
        return f.read()


def strip_schema(node):
    """Drop annotation keywords from a schema object, recursing only into subschemas."""
    if isinstance(node, list):
        return [strip_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ANNOTATIONS:
            continue
        if key == "$id" and isinstance(value, str) and value.startswith("#/"):
            continue
        if key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: strip_schema(v) for k, v in value.items()}
        elif key in SCHEMA_ONE and isinstance(value, dict):
            out[key] = strip_schema(value)
        elif key in SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip_schema(v) for v in value]
        elif key == "items":
            out[key] = strip_schema(value)
        elif key == "dependencies" and isinstance(value, dict):
            out[key] = {k: strip_schema(v) if isinstance(v, dict) else v for k, v in value.items()}
        else:
            out[key] = value
    return out


def rewrite_refs(node):
    """`spdx.SNAPSHOT.schema.json#…` → `spdx.schema.json#…` in every `$ref`."""
    if isinstance(node, list):
        return [rewrite_refs(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            value = value.replace(".SNAPSHOT.schema.json", ".schema.json")
        out[key] = rewrite_refs(value)
    return out


def compact(schema) -> bytes:
    return (json.dumps(schema, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def build(out: Path, cyclonedx: dict) -> dict:
    files: dict[str, bytes] = {}

    cdx = Archive(download(cyclonedx))
    for name in [f"bom-{v}" for v in CYCLONEDX_VERSIONS] + CYCLONEDX_SIBLINGS:
        raw = json.loads(cdx.read(f"{cyclonedx['schema_dir']}{name}.SNAPSHOT.schema.json"))
        files[f"cyclonedx/{name}.schema.json"] = compact(strip_schema(rewrite_refs(raw)))
    files["cyclonedx/LICENSE"] = cdx.read(cyclonedx["license"])
    files["cyclonedx/NOTICE"] = cdx.read(cyclonedx["notice"])

    spdx = Archive(download(SPDX_CRATE))
    raw = json.loads(spdx.read(SPDX_CRATE["schema"]))
    files["spdx/spdx-2.3.schema.json"] = compact(strip_schema(raw))
    files["spdx/LICENSE"] = spdx.read(SPDX_CRATE["license"])

    # Every $ref must stay inside the files written here (or inside its own file).
    ids = {json.loads(files[p]).get("$id") for p in files if p.endswith(".schema.json")}
    for path, data in files.items():
        if not path.endswith(".schema.json"):
            continue
        for ref in refs(json.loads(data)):
            target = ref.split("#", 1)[0]
            if target and "http://cyclonedx.org/schema/" + target not in ids:
                sys.exit(f"{path}: $ref {ref!r} names no schema fetched here")

    sources = {
        "cyclonedx": {k: cyclonedx[k] for k in ("registry", "package", "version", "url", "spdx_license")}
        | {k: cyclonedx[k] for k in ("sha256", "sha512") if k in cyclonedx},
        "spdx": {k: SPDX_CRATE[k] for k in ("registry", "package", "version", "url", "sha256", "spdx_license")},
        "adaptation": "see fetch.py: renamed *.SNAPSHOT.schema.json, $refs rewritten to match, "
        "pointer-like $ids dropped, annotation keywords removed, compact JSON",
        "outputs": {p: hashlib.sha256(d).hexdigest() for p, d in sorted(files.items())},
    }
    files["SOURCES.json"] = (json.dumps(sources, indent=2) + "\n").encode()

    for path, data in files.items():
        dest = out / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return files


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare a fresh fetch with the files in place")
    ap.add_argument("--cyclonedx-source", choices=["pypi", "npm"], default="pypi")
    args = ap.parse_args()
    cyclonedx = CYCLONEDX_PYPI if args.cyclonedx_source == "pypi" else CYCLONEDX_NPM

    if not args.check:
        files = build(HERE, cyclonedx)
        for p in sorted(files):
            print(f"wrote {HERE.name}/{p} ({len(files[p])} bytes)")
        return

    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp), cyclonedx)
        bad = [p for p, d in files.items() if not (HERE / p).is_file() or (HERE / p).read_bytes() != d]
    if bad:
        sys.exit("differs from a fresh fetch: " + ", ".join(sorted(bad)))
    print("schemas match a fresh fetch")


if __name__ == "__main__":
    main()
