"""End-to-end scenarios for arca's `wasm` plugin driven by oras-py (oras==0.2.43).

Usage: python wasm_e2e.py <scenario> <host:port> <module.wasm> [<component.wasm>]

  module     pushes a core module in the CNCF Wasm layout (config
             application/vnd.wasm.config.v0+json, layer application/wasm) and in the
             wasm-to-oci layout, pulls both back byte-identical
  malformed  pushes broken artifacts with the Wasm media types; each must be refused with
             400 MANIFEST_INVALID from the `wasm` plugin, and leave no tag behind

Each scenario prints one line "RESULT {json}" that the Rust test re-checks over plain HTTP.
Any failed check raises and exits non-zero.
"""

import hashlib
import json
import os
import sys
import tempfile

import oras.oci
import oras.provider
import requests

CONFIG_V0 = "application/vnd.wasm.config.v0+json"
CONFIG_V1 = "application/vnd.wasm.config.v1+json"
LAYER_WASM = "application/wasm"
LAYER_V1 = "application/vnd.wasm.content.layer.v1+wasm"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write(path: str, data: bytes) -> bytes:
    with open(path, "wb") as f:
        f.write(data)
    return data


def manifest_digest(host: str, repo: str, ref: str) -> str:
    r = requests.get(
        f"http://{host}/v2/{repo}/manifests/{ref}",
        headers={"Accept": MANIFEST_TYPE},
        timeout=60,
    )
    check(r.status_code == 200, f"GET {repo}:{ref} -> {r.status_code} {r.text}")
    return r.headers["Docker-Content-Digest"]


def cncf_config(wasm: bytes, os_name: str, **extra) -> bytes:
    config = {
        "created": "2026-11-28T00:00:00Z",
        "architecture": "wasm",
        "os": os_name,
        "layerDigests": [sha256(wasm)],
    }
    config.update(extra)
    return json.dumps(config).encode()


def scenario_module(host: str, work: str, module: str, _component=None):
    """A core module in both layouts, pushed and pulled with oras-py."""
    reg = oras.provider.Registry(hostname=host, insecure=True)
    os.chdir(work)
    wasm = write("hello.wasm", read(module))
    write("config.json", cncf_config(wasm, "wasip1"))

    repo = "wasm/module"
    resp = reg.push(
        target=f"{host}/{repo}:cncf",
        files=[f"hello.wasm:{LAYER_WASM}"],
        manifest_config=f"config.json:{CONFIG_V0}",
        manifest_annotations={"org.opencontainers.image.description": "a wasip1 module"},
        quiet=True,
    )
    check(resp.status_code == 201, f"push cncf -> {resp.status_code} {resp.text}")
    files = reg.pull(target=f"{host}/{repo}:cncf", outdir=os.path.join(work, "out1"))
    check([os.path.basename(f) for f in files] == ["hello.wasm"], f"pulled {files}")
    check(read(files[0]) == wasm, "the pulled module differs from the pushed one")

    write("empty.json", b"{}")
    resp = reg.push(
        target=f"{host}/{repo}:legacy",
        files=[f"hello.wasm:{LAYER_V1}"],
        manifest_config=f"empty.json:{CONFIG_V1}",
        quiet=True,
    )
    check(resp.status_code == 201, f"push legacy -> {resp.status_code} {resp.text}")
    files = reg.pull(target=f"{host}/{repo}:legacy", outdir=os.path.join(work, "out2"))
    check(read(files[0]) == wasm, "the pulled legacy module differs")
    return {
        "repo": repo,
        "cncf": manifest_digest(host, repo, "cncf"),
        "legacy": manifest_digest(host, repo, "legacy"),
        "layer": sha256(wasm),
    }


def push_raw(reg, host: str, repo: str, tag: str, work: str, layers, config: bytes, config_type: str):
    """Uploads blobs and a manifest with oras-py's own calls; returns the manifest response."""
    container = reg.get_container(f"{host}/{repo}:{tag}")
    descriptors = []
    for i, (data, media_type) in enumerate(layers):
        path = os.path.join(work, f"{tag}-layer{i}.wasm")
        write(path, data)
        layer = oras.oci.NewLayer(path, media_type=media_type)
        layer["annotations"] = {"org.opencontainers.image.title": f"layer{i}.wasm"}
        r = reg.upload_blob(path, container, layer)
        check(r.status_code in (200, 201), f"blob upload {r.status_code} {r.text}")
        descriptors.append(layer)
    path = os.path.join(work, f"{tag}-config.json")
    write(path, config)
    conf = {"mediaType": config_type, "digest": sha256(config), "size": len(config)}
    r = reg.upload_blob(path, container, dict(conf))
    check(r.status_code in (200, 201), f"config upload {r.status_code} {r.text}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": conf,
        "layers": descriptors,
    }
    return reg.upload_manifest(manifest, container)


def scenario_malformed(host: str, work: str, module: str, component=None):
    """Broken artifacts with the Wasm media types: every one refused by the plugin."""
    reg = oras.provider.Registry(hostname=host, insecure=True)
    good = read(module)
    truncated = good[: len(good) // 2]
    bad_magic = b"\0asX" + good[4:]
    # A module whose function returns an i64 where its type says i32.
    bad_body = bytes.fromhex("0061736d01000000" "0105016000017f" "03020100" "0a0601040042010b")
    cases = {
        "truncated": ([(truncated, LAYER_V1)], b"{}", CONFIG_V1),
        "bad-magic": ([(bad_magic, LAYER_V1)], b"{}", CONFIG_V1),
        "invalid-body": ([(bad_body, LAYER_WASM)], cncf_config(bad_body, "wasip1"), CONFIG_V0),
        "os-wasip2-for-a-module": ([(good, LAYER_WASM)], cncf_config(good, "wasip2"), CONFIG_V0),
        "layer-digests-mismatch": (
            [(good, LAYER_WASM)],
            cncf_config(good, "wasip1", layerDigests=[sha256(b"something else")]),
            CONFIG_V0,
        ),
    }
    if component:
        comp = read(component)
        cases["declared-export-missing"] = (
            [(comp, LAYER_WASM)],
            cncf_config(
                comp,
                "wasip2",
                component={"imports": [], "exports": ["wasi:http/incoming-handler@0.2.0"]},
            ),
            CONFIG_V0,
        )
    refused = {}
    repo = "wasm/broken"
    for case, (layers, config, config_type) in cases.items():
        r = push_raw(reg, host, repo, case, work, layers, config, config_type)
        check(r.status_code == 400, f"{case}: manifest PUT -> {r.status_code} {r.text}")
        err = r.json()["errors"][0]
        check(err["code"] == "MANIFEST_INVALID", f"{case}: {err}")
        check(err["message"].startswith("wasm: "), f"{case}: message {err['message']!r}")
        refused[case] = {"status": r.status_code, "code": err["code"], "message": err["message"],
                         "detail": err.get("detail")}
    r = requests.get(f"http://{host}/v2/{repo}/tags/list", timeout=60)
    tags = r.json().get("tags") if r.status_code == 200 else []
    check(not tags, f"refused pushes left tags: {r.status_code} {r.text}")
    return {"repo": repo, "refused": refused}


SCENARIOS = {"module": scenario_module, "malformed": scenario_malformed}


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} HOST:PORT MODULE.wasm [COMPONENT.wasm]")
    scenario, host, module = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    component = os.path.abspath(sys.argv[4]) if len(sys.argv) == 5 else None
    with tempfile.TemporaryDirectory(prefix="arca-wasm-") as work:
        result = SCENARIOS[scenario](host, work, module, component)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
