"""End-to-end scenarios for arca driven by oras-py (oras==0.2.43).

Usage: python oras_e2e.py <scenario> <host:port>

Each scenario pushes with oras-py, pulls back with oras-py, checks that every pulled byte
is identical to what was pushed, and prints one JSON line (prefixed with "RESULT ") that
the Rust test double-checks over plain HTTP. Any failed check raises and exits non-zero.
"""

import hashlib
import json
import os
import sys
import tempfile

import oras.oci
import oras.provider
import requests

ARTIFACT_TYPE = "application/vnd.arca.test.artifact.v1"
CONFIG_TYPE = "application/vnd.arca.test.config.v1+json"
LAYER_TYPE = "application/vnd.arca.test.layer.v1"
SIG_TYPE = "application/vnd.arca.test.signature.v1"
SBOM_TYPE = "application/vnd.arca.test.sbom.v1"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def write(path: str, data: bytes) -> bytes:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return data


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def raw_manifest(host: str, repo: str, ref: str):
    """GET a manifest over plain HTTP: (bytes, digest header, content type)."""
    r = requests.get(
        f"http://{host}/v2/{repo}/manifests/{ref}",
        headers={"Accept": f"{MANIFEST_TYPE}, {INDEX_TYPE}"},
        timeout=60,
    )
    check(r.status_code == 200, f"GET manifest {repo}:{ref} -> {r.status_code} {r.text}")
    digest = r.headers.get("Docker-Content-Digest")
    check(digest == sha256(r.content), f"Docker-Content-Digest {digest} != sha256 of body")
    return r.content, digest, r.headers.get("Content-Type")


def pull_and_compare(reg, target: str, expected: dict, outdir: str):
    """Pull `target` with oras-py into `outdir`; every file must match `expected` (name -> bytes)."""
    files = reg.pull(target=target, outdir=outdir)
    got = {os.path.basename(f): read(f) for f in files}
    check(
        sorted(got) == sorted(expected),
        f"pulled files {sorted(got)} != pushed {sorted(expected)}",
    )
    for name, data in expected.items():
        check(got[name] == data, f"pulled {name} differs from the pushed bytes")


def scenario_artifact(host: str, work: str):
    """Artifacts typed by their config media type and by an explicit artifactType."""
    reg = oras.provider.Registry(hostname=host, insecure=True)
    repo = "oras/artifact"
    os.chdir(work)

    # 1. oras push: typed config (manifest_config) + manifest annotations + typed layers.
    layers = {
        "payload.bin": write("payload.bin", os.urandom(300_000)),
        "notes.txt": write("notes.txt", b"hello from oras-py\n" * 100),
    }
    config = write("config.json", json.dumps({"kind": "arca-e2e", "n": 1}).encode())
    annotations = {"org.opencontainers.image.description": "arca e2e", "com.example.k": "v"}
    resp = reg.push(
        target=f"{host}/{repo}:v1",
        files=[f"payload.bin:{LAYER_TYPE}", "notes.txt"],
        manifest_config=f"config.json:{CONFIG_TYPE}",
        manifest_annotations=annotations,
        quiet=True,
    )
    check(resp.status_code == 201, f"manifest PUT returned {resp.status_code}")
    pull_and_compare(reg, f"{host}/{repo}:v1", layers, os.path.join(work, "out1"))

    manifest = reg.get_manifest(f"{host}/{repo}:v1")
    check(manifest["config"]["mediaType"] == CONFIG_TYPE, f"config type: {manifest['config']}")
    check(manifest.get("annotations") == annotations, f"annotations: {manifest.get('annotations')}")
    types = {l["annotations"]["org.opencontainers.image.title"]: l["mediaType"] for l in manifest["layers"]}
    check(types["payload.bin"] == LAYER_TYPE, f"layer types: {types}")
    # The config blob is served byte-identical too.
    container = reg.get_container(f"{host}/{repo}:v1")
    got_config = reg.get_blob(container, manifest["config"]["digest"]).content
    check(got_config == config, "config blob differs")
    v1_bytes, v1_digest, v1_type = raw_manifest(host, repo, "v1")
    check(v1_type == MANIFEST_TYPE, f"Content-Type of v1: {v1_type}")

    # 2. explicit artifactType with the empty config (OCI 1.1 guidance), pushed with
    #    oras-py's lower-level calls.
    data = write("model.bin", os.urandom(100_000))
    layer = oras.oci.NewLayer("model.bin", media_type=LAYER_TYPE)
    layer["annotations"] = {"org.opencontainers.image.title": "model.bin"}
    container2 = reg.get_container(f"{host}/{repo}:typed")
    r = reg.upload_blob("model.bin", container2, layer)
    check(r.status_code in (200, 201), f"blob upload {r.status_code} {r.text}")
    write("empty.json", b"{}")
    empty = {"mediaType": EMPTY_TYPE, "digest": sha256(b"{}"), "size": 2, "data": "e30="}
    r = reg.upload_blob("empty.json", container2, dict(empty))
    check(r.status_code in (200, 201), f"empty config upload {r.status_code} {r.text}")
    typed = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": empty,
        "layers": [layer],
        "annotations": {"org.opencontainers.image.created": "2026-11-28T00:00:00Z"},
    }
    r = reg.upload_manifest(typed, container2)
    check(r.status_code == 201, f"typed manifest PUT {r.status_code} {r.text}")
    pull_and_compare(reg, f"{host}/{repo}:typed", {"model.bin": data}, os.path.join(work, "out2"))
    typed_bytes, typed_digest, _ = raw_manifest(host, repo, "typed")
    check(json.loads(typed_bytes)["artifactType"] == ARTIFACT_TYPE, "artifactType lost")
    # requests serialises json= with json.dumps: the stored bytes must be exactly those.
    check(typed_bytes == json.dumps(typed).encode(), "typed manifest bytes were rewritten")

    tags = reg.get_tags(f"{host}/{repo}")
    check(sorted(tags) == ["typed", "v1"], f"tags: {tags}")
    return {
        "repo": repo,
        "manifests": {"v1": v1_digest, "typed": typed_digest},
        "blobs": {"payload.bin": sha256(layers["payload.bin"]), "model.bin": sha256(data)},
    }


def scenario_referrers(host: str, work: str):
    """Referrers (manifests with `subject`) listed by the referrers API, with filtering."""
    reg = oras.provider.Registry(hostname=host, insecure=True)
    repo = "oras/referred"
    os.chdir(work)
    write("app.bin", os.urandom(50_000))
    reg.push(target=f"{host}/{repo}:app", files=["app.bin"], quiet=True)
    subject_bytes, subject_digest, subject_type = raw_manifest(host, repo, "app")
    subject = oras.oci.Subject(mediaType=subject_type, digest=subject_digest, size=len(subject_bytes))

    sig = write("sig.bin", os.urandom(512))
    reg.push(
        target=f"{host}/{repo}:sig",
        files=["sig.bin"],
        manifest_config=f"empty.json:{SIG_TYPE}",
        manifest_annotations={"com.example.signer": "e2e"},
        subject=subject,
        quiet=True,
    )
    sbom = write("sbom.json", json.dumps({"components": []}).encode())
    reg.push(
        target=f"{host}/{repo}:sbom",
        files=["sbom.json"],
        manifest_config=f"empty.json:{SBOM_TYPE}",
        subject=subject,
        quiet=True,
    )
    sig_bytes, sig_digest, _ = raw_manifest(host, repo, "sig")
    sbom_bytes, sbom_digest, _ = raw_manifest(host, repo, "sbom")
    check(json.loads(sig_bytes)["subject"]["digest"] == subject_digest, "subject lost")
    pull_and_compare(reg, f"{host}/{repo}:sig", {"sig.bin": sig}, os.path.join(work, "o1"))
    pull_and_compare(reg, f"{host}/{repo}:sbom", {"sbom.json": sbom}, os.path.join(work, "o2"))

    url = f"http://{host}/v2/{repo}/referrers/{subject_digest}"
    r = requests.get(url, timeout=60)
    check(r.status_code == 200, f"GET referrers -> {r.status_code} {r.text}")
    check(r.headers.get("Content-Type", "").startswith(INDEX_TYPE), f"type {r.headers.get('Content-Type')}")
    index = r.json()
    check(index.get("mediaType") == INDEX_TYPE and index.get("schemaVersion") == 2, f"index: {index}")
    by_digest = {m["digest"]: m for m in index["manifests"]}
    check(sorted(by_digest) == sorted([sig_digest, sbom_digest]), f"referrers: {index}")
    check(by_digest[sig_digest]["artifactType"] == SIG_TYPE, f"sig entry {by_digest[sig_digest]}")
    check(by_digest[sig_digest]["size"] == len(sig_bytes), "sig size")
    check(by_digest[sig_digest]["mediaType"] == MANIFEST_TYPE, "sig mediaType")
    check(by_digest[sig_digest].get("annotations") == {"com.example.signer": "e2e"}, "sig annotations")
    check(by_digest[sbom_digest]["artifactType"] == SBOM_TYPE, f"sbom entry {by_digest[sbom_digest]}")

    r = requests.get(url, params={"artifactType": SIG_TYPE}, timeout=60)
    check(r.status_code == 200, f"filtered referrers -> {r.status_code}")
    check([m["digest"] for m in r.json()["manifests"]] == [sig_digest], f"filtered: {r.text}")
    check(r.headers.get("OCI-Filters-Applied") == "artifactType", f"headers {dict(r.headers)}")
    return {
        "repo": repo,
        "subject": subject_digest,
        "referrers": {SIG_TYPE: sig_digest, SBOM_TYPE: sbom_digest},
    }


def scenario_chunked(host: str, work: str):
    """oras-py's chunked upload (POST, PATCH with Content-Range ..., PUT ?digest=)."""
    reg = oras.provider.Registry(hostname=host, insecure=True)
    repo = "oras/chunked"
    os.chdir(work)
    big = write("big.bin", os.urandom(5 * 1024 * 1024 + 12345))
    small = write("small.bin", os.urandom(1000))
    # A chunk size that does not divide the blob, so the last PATCH is short.
    resp = reg.push(
        target=f"{host}/{repo}:v1",
        files=["big.bin", "small.bin"],
        do_chunked=True,
        chunk_size=1024 * 1024 + 7,
        quiet=True,
    )
    check(resp.status_code == 201, f"manifest PUT {resp.status_code}")
    pull_and_compare(reg, f"{host}/{repo}:v1", {"big.bin": big, "small.bin": small}, os.path.join(work, "out"))
    # One blob uploaded in a single chunk bigger than the blob.
    one = write("one.bin", os.urandom(70_000))
    layer = oras.oci.NewLayer("one.bin")
    container = reg.get_container(f"{host}/{repo}:v1")
    r = reg.upload_blob("one.bin", container, layer, do_chunked=True, chunk_size=1 << 20)
    check(r.status_code == 201, f"single-chunk upload {r.status_code} {r.text}")
    check(reg.get_blob(container, layer["digest"]).content == one, "single-chunk blob differs")
    _, digest, _ = raw_manifest(host, repo, "v1")
    return {"repo": repo, "manifest": digest, "blobs": [sha256(big), sha256(small), sha256(one)]}


SCENARIOS = {
    "artifact": scenario_artifact,
    "referrers": scenario_referrers,
    "chunked": scenario_chunked,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} HOST:PORT")
    scenario, host = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="arca-oras-") as work:
        result = SCENARIOS[scenario](host, work)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
