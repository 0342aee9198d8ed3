"""End-to-end scenarios for arca's `sbom` plugin with SBOMs made by real generators.

Usage: python sbom_e2e.py <scenario> <host:port>

SBOMs are generated during the run:
- CycloneDX 1.6 JSON and XML by `cyclonedx-py environment` (PyPI `cyclonedx-bom`) over the
  Python environment running this script (it holds `requests`, oras-py's dependency);
- SPDX 2.3 JSON and tag-value by `spdx-tools`' writer (`write_file`, which validates),
  from a `Document` built with the library out of the same packages.

They are attached to a small image with oras-py (`oras==0.2.43`): `upload_blob` for the
image's blobs, the SBOM layer and the empty config, `upload_manifest` for manifests built
here (oras-py's `push` cannot set `artifactType`), each SBOM a referrer whose `subject` is
the image. Each scenario checks what it can itself, raises with a precise message (HTTP
bodies included) on the first failure, and prints `RESULT {json}` for tests/tests/sbom.rs.
"""

import copy
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import uuid

import oras.oci
import oras.provider
import requests

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
IMAGE_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
CDX_JSON = "application/vnd.cyclonedx+json"
CDX_XML = "application/vnd.cyclonedx+xml"
SPDX_JSON = "application/spdx+json"
SPDX_TV = "text/spdx"
COSIGN_SBOM = "application/vnd.dev.cosign.artifact.sbom.v1+json"
CDX_NS = "http://cyclonedx.org/schema/bom/1.6"

# The four formats: key -> (media type / artifactType, file name).
FORMATS = {
    "cdx-json": (CDX_JSON, "bom.cdx.json"),
    "cdx-xml": (CDX_XML, "bom.cdx.xml"),
    "spdx-json": (SPDX_JSON, "sbom.spdx.json"),
    "spdx-tv": (SPDX_TV, "sbom.spdx"),
}


# --- small helpers -------------------------------------------------------------------


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write(path: str, data: bytes) -> bytes:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return data


def show_body(r: requests.Response) -> str:
    body = r.text
    return body if len(body) < 4000 else body[:4000] + f"... ({len(body)} bytes)"


def http(method: str, url: str, expect, what: str, **kw) -> requests.Response:
    expect = (expect,) if isinstance(expect, int) else tuple(expect)
    r = requests.request(method, url, timeout=60, **kw)
    check(
        r.status_code in expect,
        f"{what}: {method} {url} -> {r.status_code} (expected {'/'.join(map(str, expect))})\n"
        f"body: {show_body(r)}",
    )
    return r


def get_json(host: str, path: str, what: str, **kw):
    r = http("GET", f"http://{host}{path}", 200, what, **kw)
    try:
        return r.json()
    except ValueError:
        raise AssertionError(f"{what}: GET {path} is not JSON: {show_body(r)}")


def run(cmd, what: str) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    check(p.returncode == 0, f"{what} failed ({p.returncode}): {' '.join(cmd)}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")


# --- SBOM generation -----------------------------------------------------------------


def generate(work: str) -> dict:
    """Real SBOMs of this Python environment: {"files": {key: bytes}, "facts": {...}}."""
    gen = os.path.join(work, "generated")
    os.makedirs(gen, exist_ok=True)
    cdx_json = os.path.join(gen, FORMATS["cdx-json"][1])
    cdx_xml = os.path.join(gen, FORMATS["cdx-xml"][1])
    base = [sys.executable, "-m", "cyclonedx_py", "environment", "--spec-version", "1.6"]
    # cyclonedx-py's own check of its JSON output costs ~10 s of CPU (its XML check is
    # quick); arca's sbom plugin validates what is pushed anyway.
    run(base + ["--no-validate", "--output-format", "JSON", "--output-file", cdx_json, sys.executable], "cyclonedx-py environment (JSON)")
    run(base + ["--output-format", "XML", "--output-file", cdx_xml, sys.executable], "cyclonedx-py environment (XML)")
    bom = json.loads(read(cdx_json))
    check(bom.get("bomFormat") == "CycloneDX" and bom.get("specVersion") == "1.6", f"cyclonedx-py wrote {list(bom)[:10]}")
    components = bom.get("components") or []
    idx = [i for i, c in enumerate(components) if c.get("name") == "requests"]
    check(idx, f"no `requests` component in the generated BOM: {[c.get('name') for c in components]}")
    requests_index = idx[0]
    req = components[requests_index]
    purl = req.get("purl") or ""
    check(purl.startswith("pkg:pypi/requests@"), f"purl of requests: {purl!r}")
    license_ids = [l["license"]["id"] for l in req.get("licenses") or [] if "id" in (l.get("license") or {})]
    check(license_ids, f"requests has no SPDX license id in the BOM: {req.get('licenses')}")
    check(CDX_NS.encode() in read(cdx_xml), f"the XML BOM is not in namespace {CDX_NS}")

    spdx = spdx_documents(gen, components)
    files = {
        "cdx-json": read(cdx_json),
        "cdx-xml": read(cdx_xml),
        "spdx-json": read(spdx["json"]),
        "spdx-tv": read(spdx["tv"]),
    }
    facts = {
        "purl": purl,
        "package": purl.split("@", 1)[0],
        "name": "requests",
        "version": req.get("version"),
        "license": license_ids[0],
        "requests_index": requests_index,
        "components": len(components),
        "spdx_packages": spdx["packages"],
    }
    return {"files": files, "facts": facts, "bom": bom}


def spdx_documents(gen: str, components) -> dict:
    """An SPDX 2.3 document of the same packages, written by spdx-tools as JSON and
    tag-value (its writer validates the document first)."""
    from spdx_tools.common.spdx_licensing import spdx_licensing
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.writer.write_anything import write_file

    created = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name="arca-e2e-app",
        document_namespace=f"https://example.com/spdxdocs/arca-e2e-{uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, "spdx-tools-0.8.5"), Actor(ActorType.ORGANIZATION, "arca e2e")],
        created=created,
    )
    doc = Document(info)
    root = Package(
        spdx_id="SPDXRef-Package-app",
        name="arca-e2e-app",
        version="1.0.0",
        download_location=SpdxNoAssertion(),
        files_analyzed=False,
        primary_package_purpose=PackagePurpose.APPLICATION,
    )
    doc.packages.append(root)
    doc.relationships.append(Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, root.spdx_id))
    names = []
    for c in components:
        ids = [l["license"]["id"] for l in c.get("licenses") or [] if "id" in (l.get("license") or {})]
        if not ids or not c.get("purl"):
            continue
        try:
            license_declared = spdx_licensing.parse(ids[0], validate=True)
        except Exception:  # an id the SPDX list does not know: leave the package out
            continue
        spdx_id = "SPDXRef-Package-" + re.sub(r"[^A-Za-z0-9.\-]", "-", c["name"])
        doc.packages.append(
            Package(
                spdx_id=spdx_id,
                name=c["name"],
                version=c.get("version"),
                download_location=SpdxNoAssertion(),
                files_analyzed=False,
                license_declared=license_declared,
                license_concluded=SpdxNoAssertion(),
                copyright_text=SpdxNoAssertion(),
                external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c["purl"])],
                primary_package_purpose=PackagePurpose.LIBRARY,
            )
        )
        doc.relationships.append(Relationship(root.spdx_id, RelationshipType.DEPENDS_ON, spdx_id))
        names.append(c["name"])
    check("requests" in names, f"requests did not make it into the SPDX document: {names}")
    json_path = os.path.join(gen, FORMATS["spdx-json"][1])
    tv_path = os.path.join(gen, FORMATS["spdx-tv"][1])
    write_file(doc, json_path)
    write_file(doc, tv_path)
    return {"json": json_path, "tv": tv_path, "packages": len(doc.packages)}


# --- pushing with oras-py ------------------------------------------------------------


class Pusher:
    """oras-py against one repository: blobs with `upload_blob`, manifests (built here) with
    `upload_manifest`, which sends `json.dumps(manifest)` — so the digest is known upfront."""

    def __init__(self, host: str, repo: str, work: str):
        self.host, self.repo = host, repo
        self.reg = oras.provider.Registry(hostname=host, insecure=True)
        self.dir = os.path.join(work, "blobs", repo.replace("/", "_"))
        os.makedirs(self.dir, exist_ok=True)

    def container(self, ref: str):
        sep = "@" if ref.startswith("sha256:") else ":"
        return self.reg.get_container(f"{self.host}/{self.repo}{sep}{ref}")

    def blob(self, data: bytes, media_type: str, title: str = None) -> dict:
        path = os.path.join(self.dir, title or sha256(data).replace(":", "-"))
        write(path, data)
        desc = oras.oci.NewLayer(path, media_type=media_type)
        if title:
            desc["annotations"] = {"org.opencontainers.image.title": title}
        r = self.reg.upload_blob(path, self.container("latest"), dict(desc))
        check(r.status_code in (200, 201), f"oras upload_blob {title or desc['digest']} to {self.repo} -> {r.status_code}\nbody: {show_body(r)}")
        return desc

    def empty_config(self) -> dict:
        d = self.blob(b"{}", EMPTY_TYPE)
        return {"mediaType": EMPTY_TYPE, "digest": d["digest"], "size": 2}

    def manifest(self, manifest: dict, tag: str = None) -> requests.Response:
        """PUT the manifest (by tag, else by its digest); returns the response unchecked."""
        ref = tag or sha256(json.dumps(manifest).encode())
        return self.reg.upload_manifest(manifest, self.container(ref))

    def manifest_ok(self, manifest: dict, tag: str = None, what: str = "manifest") -> dict:
        r = self.manifest(manifest, tag)
        check(r.status_code == 201, f"oras upload_manifest {what} to {self.repo} -> {r.status_code}\nbody: {show_body(r)}")
        body = json.dumps(manifest).encode()
        digest = sha256(body)
        got = r.headers.get("Docker-Content-Digest")
        check(got in (None, digest), f"{what}: Docker-Content-Digest {got} != {digest}")
        return {"mediaType": MANIFEST_TYPE, "digest": digest, "size": len(body)}


def push_image(p: Pusher, tag: str = "1.0") -> dict:
    """A small linux/amd64 image: one gzip layer and its config. Returns its descriptor."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, data in [("app/hello.txt", b"hello from arca e2e\n"), ("app/requirements.txt", b"requests\n")]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            t.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-11-28T00:00:00Z",
        "config": {"Cmd": ["/bin/true"], "Labels": {"org.example.app": "arca-e2e"}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(raw.getvalue())]},
        "history": [{"created": "2026-11-28T00:00:00Z", "created_by": "arca e2e"}],
    }).encode()
    cfg = p.blob(config, IMAGE_CONFIG)
    lay = p.blob(layer, IMAGE_LAYER)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {k: cfg[k] for k in ("mediaType", "digest", "size")},
        "layers": [{k: lay[k] for k in ("mediaType", "digest", "size")}],
    }
    return p.manifest_ok(manifest, tag, "image")


def sbom_manifest(p: Pusher, key: str, data: bytes, subject: dict = None) -> dict:
    """A referrer for an SBOM: artifactType and layer of the format's media type, the empty
    config, `subject` = the image (blobs uploaded here; the manifest is returned, not pushed)."""
    media_type, title = FORMATS[key]
    layer = p.blob(data, media_type, title)
    m = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": media_type,
        "config": p.empty_config(),
        "layers": [layer],
        "annotations": {"org.opencontainers.image.created": "2026-11-28T00:00:00Z"},
    }
    if subject is not None:
        m["subject"] = subject
    return m


def attach_all(p: Pusher, image: dict, files: dict, work: str) -> dict:
    """Attach the four SBOMs to `image`, pull each back with oras-py byte for byte, and check
    the referrers API lists them. Returns {key: digest}."""
    digests = {}
    for key, data in files.items():
        m = sbom_manifest(p, key, data, image)
        desc = p.manifest_ok(m, what=f"{key} SBOM referrer")
        digests[key] = desc["digest"]
        out = os.path.join(work, "pulled", key)
        pulled = p.reg.pull(target=f"{p.host}/{p.repo}@{desc['digest']}", outdir=out)
        check([os.path.basename(f) for f in pulled] == [FORMATS[key][1]], f"oras pull {key}: {pulled}")
        check(read(pulled[0]) == data, f"oras pull {key}: bytes differ from the generated SBOM")

    index = get_json(p.host, f"/v2/{p.repo}/referrers/{image['digest']}", "referrers of the image")
    listed = {m["digest"]: m.get("artifactType") for m in index.get("manifests", [])}
    want = {digests[k]: FORMATS[k][0] for k in digests}
    check(listed == want, f"referrers of {p.repo}@{image['digest']}: {json.dumps(index)}\nexpected {want}")
    for key in [k for k in ("spdx-json", "cdx-xml") if k in digests]:
        r = get_json(p.host, f"/v2/{p.repo}/referrers/{image['digest']}", "filtered referrers", params={"artifactType": FORMATS[key][0]})
        check([m["digest"] for m in r["manifests"]] == [digests[key]], f"referrers?artifactType={FORMATS[key][0]}: {json.dumps(r)}")
    return digests


# --- search / documents --------------------------------------------------------------


def search(host: str, *facets: str, **params):
    q = [("facet", f) for f in facets] + list(params.items())
    return get_json(host, "/_arca/v1/search", f"search {q}", params=q)["results"]


def hits(results) -> set:
    return {(r["repository"], r["digest"]) for r in results}


def documents_entry(host: str, repo: str, digest: str, plugin: str) -> dict:
    docs = get_json(host, f"/_arca/v1/repositories/{repo}/manifests/{digest}/documents", f"documents of {repo}@{digest}")
    entries = [d for d in docs.get("documents", []) if d.get("plugin") == plugin]
    check(len(entries) == 1, f"documents of {repo}@{digest}: expected one from plugin {plugin!r}: {json.dumps(docs)[:3000]}")
    return entries[0]


# --- scenarios -----------------------------------------------------------------------


def scenario_attach(host: str, work: str) -> dict:
    """Real CycloneDX JSON/XML and SPDX JSON/tag-value SBOMs attached as referrers."""
    gen = generate(work)
    p = Pusher(host, "sbom/app", work)
    image = push_image(p)
    digests = attach_all(p, image, gen["files"], work)
    return {
        "repo": p.repo,
        "image": image["digest"],
        "sboms": digests,
        "artifact_types": {k: FORMATS[k][0] for k in digests},
        "sha256": {k: sha256(v) for k, v in gen["files"].items()},
        "facts": gen["facts"],
    }


def scenario_search(host: str, work: str) -> dict:
    """The sbom plugin's facets: on the SBOM manifests and, through `subject`, on the image."""
    gen = generate(work)
    facts = gen["facts"]
    p = Pusher(host, "sbom/app", work)
    image = push_image(p)
    sboms = attach_all(p, image, gen["files"], work)
    # An image nobody attached an SBOM to: never a hit.
    other = push_image(Pusher(host, "sbom/other", work), "1.0")
    img = (p.repo, image["digest"])
    all_sboms = {(p.repo, d) for d in sboms.values()}

    def expect(facets, want, what, **params):
        res = search(host, *facets, **params)
        check(hits(res) == want, f"{what}: {facets} {params} -> {json.dumps(res)[:4000]}\nexpected {sorted(want)}")
        return res

    res = expect([f"sbom.purl:{facts['purl']}"], all_sboms | {img}, "a purl finds every SBOM holding it and the image they describe")
    image_hit = [r for r in res if r["digest"] == image["digest"]][0]
    check(
        any(f.get("name") == "sbom.purl" and f.get("value") == facts["purl"] and f.get("plugin") == "sbom" for f in image_hit["facets"]),
        f"the image hit does not carry the subject facet sbom.purl={facts['purl']}: {json.dumps(image_hit)}",
    )
    for r in res:
        if r["digest"] != image["digest"]:
            check(r.get("subject") == image["digest"], f"SBOM hit without its subject: {json.dumps(r)}")
            check(r.get("artifactType") in {t for t, _ in FORMATS.values()}, f"SBOM hit artifactType: {json.dumps(r)}")
    expect([f"sbom.package:{facts['package']}"], all_sboms | {img}, "a purl without version (any version)")
    expect(["sbom.name:requests"], all_sboms | {img}, "a package name")
    expect([f"sbom.license:{facts['license']}"], all_sboms | {img}, "a license present in every SBOM")
    expect(["sbom.format:spdx"], {(p.repo, sboms["spdx-json"]), (p.repo, sboms["spdx-tv"])}, "the SPDX SBOMs")
    expect(["sbom.format:cyclonedx"], {(p.repo, sboms["cdx-json"]), (p.repo, sboms["cdx-xml"])}, "the CycloneDX SBOMs")
    expect(["sbom.format:cyclonedx", "sbom.specVersion:1.6"], {(p.repo, sboms["cdx-json"]), (p.repo, sboms["cdx-xml"])}, "CycloneDX 1.6")
    expect([f"sbom.purl:{facts['package']}@*"], all_sboms | {img}, "a purl prefix")
    expect(["sbom.purl:pkg:pypi/no-such-package@0.0.0"], set(), "an unknown purl")
    expect([f"sbom.purl:{facts['purl']}"], set(), "another repository", repository="sbom/other")
    expect(["sbom.format:spdx"], {(p.repo, sboms["spdx-json"])}, "format and artifactType", artifactType=SPDX_JSON)

    for key, digest in sboms.items():
        entry = documents_entry(host, p.repo, digest, "sbom")
        check(entry.get("state") == "done", f"sbom document of {key} is not done: {json.dumps(entry)[:3000]}")
    return {"repo": p.repo, "image": image["digest"], "other": other["digest"], "sboms": sboms, "facts": facts}


def expect_refused(r: requests.Response, what: str, path_re: str = None, words=()) -> dict:
    """400 MANIFEST_INVALID from the sbom plugin; every sbom violation's path names the blob
    (`layers/0:`); one matches `path_re` (a regex over the path) and/or mentions a word."""
    check(r.status_code == 400, f"{what}: expected 400 MANIFEST_INVALID, got {r.status_code}\nbody: {show_body(r)}")
    try:
        err = r.json()["errors"][0]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"{what}: 400 without an OCI error body: {show_body(r)}")
    check(err.get("code") == "MANIFEST_INVALID", f"{what}: code {err.get('code')!r}\nbody: {show_body(r)}")
    violations = [v for v in (err.get("detail") or {}).get("violations") or [] if v.get("plugin") == "sbom"]
    check(violations, f"{what}: no violation from plugin sbom\nbody: {show_body(r)}")
    for v in violations:
        check(isinstance(v.get("message"), str) and v["message"], f"{what}: a violation without a message: {v}")
        check(str(v.get("path", "")).startswith("layers/0"), f"{what}: violation path {v.get('path')!r} does not name the blob (layers/0:...)\nbody: {show_body(r)}")
    if path_re:
        check(any(re.search(path_re, v["path"]) for v in violations), f"{what}: no violation path matches {path_re!r}\nbody: {show_body(r)}")
    if words:
        text = " ".join(f"{v['path']} {v['message']}" for v in violations).lower()
        check(any(w.lower() in text for w in words), f"{what}: no violation mentions any of {list(words)}\nbody: {show_body(r)}")
    return {"message": err.get("message"), "violations": violations}


def truncate_mid_line(data: bytes) -> bytes:
    """Cut a text document near its middle, inside a tag name: the last line has no `:`."""
    half = len(data) // 2
    start = data.rfind(b"\n", 0, half) + 1
    while data[start:start + 1] in (b"\n", b"#") or b":" not in data[start:data.find(b"\n", start)]:
        start = data.find(b"\n", start) + 1
    return data[: start + 3]


def malformed_variants(gen: dict):
    """(case, format key, bytes, path regex, words): each derived from a generated SBOM."""
    files, facts = gen["files"], gen["facts"]
    i = facts["requests_index"]
    bom = json.loads(files["cdx-json"])
    spdx = json.loads(files["spdx-json"])
    out = []

    b = copy.deepcopy(bom)
    b["components"][i]["type"] = "lib"
    out.append(("component-type-lib", "cdx-json", json.dumps(b).encode(), rf"^layers/0:/components/{i}/type$", ()))
    b = copy.deepcopy(bom)
    b["specVersion"] = "9.9"
    out.append(("spec-version-9.9", "cdx-json", json.dumps(b).encode(), r"^layers/0:/specVersion$", ()))
    out.append(("truncated-json", "cdx-json", files["cdx-json"][: len(files["cdx-json"]) // 2], None, ()))
    b = copy.deepcopy(bom)
    check("bom-ref" in b["components"][0], f"the generated BOM's first component has no bom-ref: {b['components'][0]}")
    b["components"].append(copy.deepcopy(b["components"][0]))  # the same bom-ref twice
    out.append(("duplicate-bom-ref", "cdx-json", json.dumps(b).encode(), r"^layers/0:/", ("bom-ref", "duplicate", "unique")))
    xml = files["cdx-xml"].replace(CDX_NS.encode(), b"http://example.com/schema/not-cyclonedx/1.6")
    out.append(("xml-wrong-namespace", "cdx-xml", xml, None, ("namespace", "xmlns")))

    s = copy.deepcopy(spdx)
    s["dataLicense"] = "MIT"
    out.append(("spdx-data-license", "spdx-json", json.dumps(s).encode(), r"^layers/0:/dataLicense$", ()))
    s = copy.deepcopy(spdx)
    s["packages"].append(copy.deepcopy(s["packages"][1]))  # the same SPDXID twice
    out.append(("spdx-duplicate-spdxid", "spdx-json", json.dumps(s).encode(), r"^layers/0:/", ("spdxid", "duplicate", "unique")))
    s = copy.deepcopy(spdx)
    s["relationships"].append({"spdxElementId": "SPDXRef-Package-app", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Package-missing"})
    n = len(s["relationships"]) - 1
    out.append(("spdx-relationship-to-missing", "spdx-json", json.dumps(s).encode(), rf"^layers/0:/relationships/{n}(/|$)", ()))
    out.append(("truncated-tag-value", "spdx-tv", truncate_mid_line(files["spdx-tv"]), None, ()))
    return out


def scenario_malformed(host: str, work: str) -> dict:
    """Broken variants of the generated SBOMs are refused with precise violations."""
    gen = generate(work)
    p = Pusher(host, "sbom/app", work)
    image = push_image(p)
    refused = {}
    for case, key, data, path_re, words in malformed_variants(gen):
        m = sbom_manifest(p, key, data, image)
        r = p.manifest(m)
        refused[case] = expect_refused(r, f"malformed SBOM `{case}` ({FORMATS[key][0]})", path_re, words)
    index = get_json(host, f"/v2/{p.repo}/referrers/{image['digest']}", "referrers after the refusals")
    check(index.get("manifests") == [], f"refused SBOMs are listed as referrers: {json.dumps(index)}")
    # The valid ones still go through afterwards.
    good = attach_all(p, image, {"cdx-json": gen["files"]["cdx-json"], "spdx-tv": gen["files"]["spdx-tv"]}, work)
    return {"repo": p.repo, "image": image["digest"], "refused": refused, "accepted": good}


def scenario_lenient(host: str, work: str) -> dict:
    """With `lenient/**` configured lenient, the `type: lib` SBOM is accepted with warnings
    (shown with its document); elsewhere on the same server it is refused."""
    gen = generate(work)
    i = gen["facts"]["requests_index"]
    bom = json.loads(gen["files"]["cdx-json"])
    bom["components"][i]["type"] = "lib"
    data = json.dumps(bom).encode()

    strict = Pusher(host, "strict/app", work)
    strict_image = push_image(strict)
    r = strict.manifest(sbom_manifest(strict, "cdx-json", data, strict_image))
    expect_refused(r, "`type: lib` SBOM outside lenient/**", rf"^layers/0:/components/{i}/type$")

    p = Pusher(host, "lenient/app", work)
    image = push_image(p)
    desc = p.manifest_ok(sbom_manifest(p, "cdx-json", data, image), what="`type: lib` SBOM in lenient/app")
    entry = documents_entry(host, p.repo, desc["digest"], "sbom")
    warnings = entry.get("warnings")
    check(isinstance(warnings, list) and warnings, f"lenient SBOM: documents entry of plugin sbom has no warnings list: {json.dumps(entry)[:3000]}")
    for w in warnings:
        check(isinstance(w, dict) and isinstance(w.get("path"), str) and isinstance(w.get("message"), str),
              f"lenient SBOM: a warning is not {{path, message}}: {w}")
    total = entry.get("warnings_total", len(warnings))
    check(isinstance(total, int) and total >= len(warnings), f"lenient SBOM: warnings_total {total!r} < {len(warnings)} warnings listed")
    check(any(re.search(rf"/components/{i}/type$", w["path"]) for w in warnings),
          f"lenient SBOM: no warning about /components/{i}/type: {json.dumps(warnings)}")
    res = search(host, f"sbom.purl:{gen['facts']['purl']}", repository="lenient")
    check(hits(res) == {(p.repo, desc["digest"]), (p.repo, image["digest"])}, f"the lenient SBOM is indexed: {json.dumps(res)[:3000]}")
    return {"repo": p.repo, "image": image["digest"], "sbom": desc["digest"], "warnings": warnings}


def scenario_cosign(host: str, work: str) -> dict:
    """cosign's legacy layout: the SBOM under tag `sha256-<hex>.sbom`, no `subject`."""
    gen = generate(work)
    p = Pusher(host, "cosign/app", work)
    image = push_image(p)
    tag = image["digest"].replace(":", "-") + ".sbom"
    layer = p.blob(gen["files"]["cdx-json"], COSIGN_SBOM)
    # cosign itself writes a go-containerregistry image config with empty architecture and
    # os, which the image plugin refuses; the empty config keeps this test about the SBOM.
    m = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": p.empty_config(),
        "layers": [{k: layer[k] for k in ("mediaType", "digest", "size")}],
    }
    desc = p.manifest_ok(m, tag, "cosign SBOM")
    r = http("GET", f"http://{host}/v2/{p.repo}/manifests/{tag}", 200, "cosign SBOM by tag", headers={"Accept": MANIFEST_TYPE})
    check(r.content == json.dumps(m).encode(), "cosign SBOM manifest bytes differ")
    blob = http("GET", f"http://{host}/v2/{p.repo}/blobs/{layer['digest']}", 200, "cosign SBOM layer")
    check(blob.content == gen["files"]["cdx-json"], "cosign SBOM layer bytes differ")

    purl = gen["facts"]["purl"]
    res = search(host, f"sbom.purl:{purl}", repository=p.repo)
    want = {(p.repo, desc["digest"]), (p.repo, image["digest"])}
    check(hits(res) == want, f"sbom.purl:{purl} in {p.repo} -> {json.dumps(res)[:3000]}\nexpected the cosign SBOM and the image {image['digest']}")
    res = search(host, "sbom.name:requests", repository=p.repo)
    check(hits(res) == want, f"sbom.name:requests in {p.repo} -> {json.dumps(res)[:3000]}")
    return {"repo": p.repo, "image": image["digest"], "sbom": desc["digest"], "tag": tag}


SCENARIOS = {
    "attach": scenario_attach,
    "search": scenario_search,
    "malformed": scenario_malformed,
    "lenient": scenario_lenient,
    "cosign": scenario_cosign,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} HOST:PORT")
    scenario, host = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="arca-sbom-") as work:
        result = SCENARIOS[scenario](host, work)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
