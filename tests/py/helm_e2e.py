"""End-to-end scenarios for arca's `helm` plugin driven by the real Helm 4 Go SDK.

Usage: python helm_e2e.py <scenario> <host:port>

The client is PyPI's `helm-python-sdk` (module `helm_python`), which binds Helm's own Go
code (`libhelm_c`, Helm SDK v4) through ctypes: charts are packaged by `helm package`'s
code (`helm_python.package`), pushed, pulled, shown and listed by Helm's registry client
over plain HTTP (`RegistryClient(plain_http=True)`), and classic HTTP repositories are read
by Helm's repository code (`repo_index`, `pull(..., repo_url=)`, `show(..., repo_url=)`,
`dependency_update`). The SDK has no `repo add` / `search repo`: `repo_index` runs the index
download and parsing that `helm repo add` and `helm repo update` run, `search_repo` below
does what `helm search repo` does over that index, and `dependency_update` registers the
repository named in a Chart.yaml the way `helm repo add` does and downloads from it.

Each scenario checks everything it can itself, raises with a precise message (HTTP bodies
included) on the first failure, and prints one line `RESULT {json}` that the Rust test
(tests/tests/helm.rs) double-checks over plain HTTP.
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile

import requests
import yaml

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"

# Set once `helm_python` is imported (after HELM_* point into the scenario's temp dir).
helm = None

# The charts every scenario pushes: (name, version, appVersion, keywords, values).
ALPHA_KEYWORD = "arca-e2e-frontend"
CHARTS = [
    ("alpha", "0.1.0", "1.0.0", [ALPHA_KEYWORD, "web"], {"replicaCount": 1, "image": {"repository": "nginx", "tag": "1.25"}, "service": {"port": 80}}),
    ("alpha", "0.2.0", "1.1.0", [ALPHA_KEYWORD, "web"], {"replicaCount": 2, "image": {"repository": "nginx", "tag": "1.27"}, "service": {"port": 8080}}),
    ("beta", "1.0.0+build.1", "2.0.0", ["arca-e2e-backend", "db"], {"replicaCount": 3, "image": {"repository": "postgres", "tag": "16"}, "service": {"port": 5432}}),
]

VALUES_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["replicaCount", "image"],
    "properties": {
        "replicaCount": {"type": "integer", "minimum": 0},
        "image": {
            "type": "object",
            "required": ["repository"],
            "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}},
        },
        "service": {"type": "object", "properties": {"port": {"type": "integer"}}},
    },
}

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ .Chart.Name }}}
  template:
    metadata:
      labels: {app: {{ .Chart.Name }}}
    spec:
      containers:
        - name: main
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{containerPort: {{ .Values.service.port }}}]
"""


# --- small helpers -------------------------------------------------------------------


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + sha256_hex(data)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write(path: str, data) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def show_body(r: requests.Response) -> str:
    body = r.text
    return body if len(body) < 4000 else body[:4000] + f"... ({len(body)} bytes)"


def http(method: str, url: str, expect, what: str, **kw) -> requests.Response:
    """One HTTP request; any status not in `expect` raises with the body."""
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


def manifest(host: str, repo: str, ref: str):
    r = http(
        "GET",
        f"http://{host}/v2/{repo}/manifests/{ref}",
        200,
        f"manifest {repo}:{ref}",
        headers={"Accept": f"{MANIFEST_TYPE}, {INDEX_TYPE}"},
    )
    digest = r.headers.get("Docker-Content-Digest")
    check(digest == sha256(r.content), f"Docker-Content-Digest {digest} != sha256 of {repo}:{ref}")
    return json.loads(r.content), digest


def tags_of(host: str, repo: str):
    return get_json(host, f"/v2/{repo}/tags/list", f"tags of {repo}")["tags"]


def oci_tag(version: str) -> str:
    """OCI tags cannot hold '+': Helm pushes SemVer build metadata with '_' instead."""
    return version.replace("+", "_")


def chart_dir(root: str, name: str, version: str, app_version: str, keywords, values) -> str:
    """A chart directory written the way `helm create` lays one out (smaller)."""
    d = os.path.join(root, "src", f"{name}-{version}", name)
    chart_yaml = {
        "apiVersion": "v2",
        "name": name,
        "version": version,
        "appVersion": app_version,
        "description": f"arca e2e chart {name}",
        "type": "application",
        "keywords": keywords,
        "home": f"https://example.com/{name}",
        "kubeVersion": ">=1.25.0-0",
        "maintainers": [{"name": "Arca Team", "email": "team@example.com"}],
        "annotations": {"example.com/category": "e2e"},
    }
    write(os.path.join(d, "Chart.yaml"), yaml.safe_dump(chart_yaml, sort_keys=False))
    write(os.path.join(d, "values.yaml"), yaml.safe_dump(values, sort_keys=False))
    write(os.path.join(d, "values.schema.json"), json.dumps(VALUES_SCHEMA, indent=2))
    write(os.path.join(d, "templates", "deployment.yaml"), DEPLOYMENT)
    write(os.path.join(d, "README.md"), f"# {name}\n\nA chart for arca's end-to-end tests.\n")
    write(os.path.join(d, ".helmignore"), "*.swp\n")
    return d


def package(root: str, name: str, version: str, app_version: str, keywords, values) -> str:
    """`helm lint` + `helm package` (Helm's own code) -> the .tgz path."""
    d = chart_dir(root, name, version, app_version, keywords, values)
    report = helm.lint(d)
    errors = [m for m in report.get("messages") or [] if m.get("severity") == 3]
    check(not errors and not report.get("errors"), f"helm lint {name} {version}: {report}")
    dist = os.path.join(root, "dist")
    os.makedirs(dist, exist_ok=True)
    tgz = helm.package(d, destination=dist)
    check(
        os.path.basename(tgz) == f"{name}-{version}.tgz",
        f"helm package wrote {tgz}, expected {name}-{version}.tgz",
    )
    return tgz


def registry_client():
    return helm.RegistryClient(plain_http=True)


def push_fixture_charts(host: str, work: str) -> dict:
    """Package and push CHARTS with the real Helm client; returns what was pushed:
    {"name@version": {"name", "version", "tag", "repo", "tgz" (path), "sha256", "digest", "values"}}."""
    client = registry_client()
    pushed = {}
    for name, version, app_version, keywords, values in CHARTS:
        tgz = package(work, name, version, app_version, keywords, values)
        try:
            client.push(tgz, f"oci://{host}/charts")
        except helm.HelmError as e:
            raise AssertionError(f"helm push {os.path.basename(tgz)} to oci://{host}/charts failed: {e}")
        ref = f"oci://{host}/charts/{name}:{oci_tag(version)}"
        desc = client.resolve(ref)
        data = read(tgz)
        pushed[f"{name}@{version}"] = {
            "name": name,
            "version": version,
            "app_version": app_version,
            "keywords": keywords,
            "tag": oci_tag(version),
            "repo": f"charts/{name}",
            "tgz": tgz,
            "sha256": sha256_hex(data),
            "digest": desc["digest"],
            "values": values,
        }
        check(desc["media_type"] == MANIFEST_TYPE, f"resolve {ref}: {desc}")
    return pushed


def result_charts(pushed: dict) -> dict:
    return {
        key: {k: v for k, v in c.items() if k in ("name", "version", "tag", "repo", "sha256", "digest")}
        for key, c in pushed.items()
    }


# --- scenario: OCI push / pull / show ------------------------------------------------


def scenario_oci(host: str, work: str) -> dict:
    """helm package + push to oci://host/charts, pull back byte-identical, show chart/values."""
    pushed = push_fixture_charts(host, work)
    client = registry_client()

    # Repositories charts/alpha and charts/beta, with Helm's tag spelling of the versions.
    catalog = get_json(host, "/v2/_catalog", "catalog")["repositories"]
    check({"charts/alpha", "charts/beta"} <= set(catalog), f"catalog: {catalog}")
    check(sorted(tags_of(host, "charts/alpha")) == ["0.1.0", "0.2.0"], f"alpha tags: {tags_of(host, 'charts/alpha')}")
    check(tags_of(host, "charts/beta") == ["1.0.0_build.1"], f"beta tags: {tags_of(host, 'charts/beta')}")
    # Helm lists SemVer versions, newest first, '_' turned back into '+'.
    got = client.tags(f"oci://{host}/charts/alpha")
    check(got == ["0.2.0", "0.1.0"], f"helm registry tags alpha: {got}")
    got = client.tags(f"oci://{host}/charts/beta")
    check(got == ["1.0.0+build.1"], f"helm registry tags beta: {got}")

    for key, c in pushed.items():
        data = read(c["tgz"])
        # What Helm pushed: an OCI manifest with Helm's config and chart layer types.
        m, digest = manifest(host, c["repo"], c["tag"])
        check(digest == c["digest"], f"{key}: tag {c['tag']} -> {digest}, helm resolved {c['digest']}")
        check(m["config"]["mediaType"] == HELM_CONFIG, f"{key} config: {m['config']}")
        layers = [l for l in m["layers"] if l["mediaType"] == HELM_LAYER]
        check(len(layers) == 1, f"{key}: chart layers in {m}")
        check(layers[0]["digest"] == sha256(data), f"{key}: layer {layers[0]['digest']} is not the packaged tgz {sha256(data)}")
        ann = m.get("annotations") or {}
        check(ann.get("org.opencontainers.image.title") == c["name"], f"{key} annotations: {ann}")
        check(ann.get("org.opencontainers.image.version") == c["version"], f"{key} annotations: {ann}")
        cfg = http("GET", f"http://{host}/v2/{c['repo']}/blobs/{m['config']['digest']}", 200, f"{key} config blob").json()
        check(cfg.get("name") == c["name"] and cfg.get("version") == c["version"], f"{key} config: {cfg}")

        # helm pull oci://host/charts/NAME --version V: the same bytes, Helm's file name.
        out = os.path.join(work, "pulled", key)
        os.makedirs(out)
        client.pull(f"oci://{host}/charts/{c['name']}", version=c["version"], destination=out)
        files = os.listdir(out)
        want = f"{c['name']}-{c['version']}.tgz"
        check(files == [want], f"helm pull {key} wrote {files}, expected [{want!r}]")
        check(read(os.path.join(out, want)) == data, f"helm pull {key}: bytes differ from the pushed tgz")
        # The pulled archive loads as the same chart.
        with helm.Chart.load_archive(read(os.path.join(out, want))) as ch:
            check(ch.name == c["name"] and ch.version == c["version"], f"pulled {key}: {ch.metadata}")
            check(ch.values == c["values"], f"pulled {key} values: {ch.values}")

        # helm show chart / values straight from the registry. The SDK's show(version=)
        # does not work ("unknown field version"), so the version goes in the reference:
        # by tag for plain SemVer versions; by digest when the version has build metadata,
        # because Helm refuses `:1.0.0+build.1` ("invalid tag") and reads `:1.0.0_build.1`
        # as a version constraint ("improper constraint").
        if "+" in c["version"]:
            ref = f"oci://{host}/charts/{c['name']}@{c['digest']}"
        else:
            ref = f"oci://{host}/charts/{c['name']}:{c['version']}"
        shown = yaml.safe_load(client.show(ref, output_format="chart"))
        check(shown.get("name") == c["name"] and str(shown.get("version")) == c["version"], f"helm show chart {ref}: {shown}")
        check(shown.get("appVersion") == c["app_version"], f"helm show chart {ref}: {shown}")
        values = yaml.safe_load(client.show(ref, output_format="values"))
        check(values == c["values"], f"helm show values {ref}: {values}")
    return {"charts": result_charts(pushed)}


# --- scenario: search and documents --------------------------------------------------


def search(host: str, *facets: str, **params):
    q = [("facet", f) for f in facets] + list(params.items())
    return get_json(host, "/_arca/v1/search", f"search {q}", params=q)["results"]


def hits(results) -> set:
    return {(r["repository"], r["digest"]) for r in results}


def documents(host: str, repo: str, digest: str):
    return get_json(host, f"/_arca/v1/repositories/{repo}/manifests/{digest}/documents", f"documents of {repo}@{digest}")


def plugin_document(host: str, repo: str, digest: str, plugin: str):
    """The `document` a plugin stored for a manifest (decoded if stored as a string)."""
    docs = documents(host, repo, digest)
    entries = [d for d in docs.get("documents", []) if d.get("plugin") == plugin]
    check(len(entries) == 1, f"documents of {repo}@{digest}: expected one from plugin {plugin!r}: {json.dumps(docs)}")
    entry = entries[0]
    check(entry.get("state") == "done", f"{plugin} document of {repo}@{digest} is not done: {json.dumps(entry)}")
    doc = entry.get("document")
    if isinstance(doc, str):
        doc = json.loads(doc)
    check(isinstance(doc, dict), f"{plugin} document of {repo}@{digest} is not a JSON object: {json.dumps(entry)}")
    return entry, doc


def scenario_search(host: str, work: str) -> dict:
    """The helm plugin's facets through the generic search API, and its documents."""
    pushed = push_fixture_charts(host, work)
    a1, a2, b = pushed["alpha@0.1.0"], pushed["alpha@0.2.0"], pushed["beta@1.0.0+build.1"]
    key = lambda c: (c["repo"], c["digest"])  # noqa: E731

    res = search(host, "chart.name:alpha")
    check(hits(res) == {key(a1), key(a2)}, f"facet=chart.name:alpha -> {json.dumps(res)}")
    for r in res:
        facets = [(f["name"], f["value"], f["plugin"]) for f in r["facets"]]
        check(("chart.name", "alpha", "helm") in facets, f"chart.name hit without its facet: {json.dumps(r)}")
        check(r["artifactType"] == HELM_CONFIG, f"hit artifactType: {json.dumps(r)}")
    tags = {r["digest"]: r["tags"] for r in res}
    check(tags[a1["digest"]] == ["0.1.0"] and tags[a2["digest"]] == ["0.2.0"], f"hit tags: {tags}")

    res = search(host, f"chart.keyword:{ALPHA_KEYWORD}")
    check(hits(res) == {key(a1), key(a2)}, f"facet=chart.keyword:{ALPHA_KEYWORD} -> {json.dumps(res)}")
    res = search(host, "chart.version:0.2.0")
    check(hits(res) == {key(a2)}, f"facet=chart.version:0.2.0 -> {json.dumps(res)}")
    # The facet holds the chart's SemVer version, not the tag Helm had to use.
    res = search(host, "chart.version:1.0.0+build.1")
    check(hits(res) == {key(b)}, f"facet=chart.version:1.0.0+build.1 -> {json.dumps(res)}")
    res = search(host, "chart.name:beta", "chart.appVersion:2.0.0")
    check(hits(res) == {key(b)}, f"facet=chart.name:beta&facet=chart.appVersion:2.0.0 -> {json.dumps(res)}")
    res = search(host, "chart.name:a*")
    check(hits(res) == {key(a1), key(a2)}, f"facet=chart.name:a* -> {json.dumps(res)}")
    res = search(host, "chart.name:alpha", repository="charts/beta")
    check(res == [], f"facet=chart.name:alpha&repository=charts/beta -> {json.dumps(res)}")

    for c in (a1, a2, b):
        entry, doc = plugin_document(host, c["repo"], c["digest"], "helm")
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        name = doc.get("name", meta.get("name"))
        version = doc.get("version", meta.get("version"))
        check(name == c["name"], f"helm document name {name!r} != {c['name']!r}: {json.dumps(doc)[:2000]}")
        check(version == c["version"], f"helm document version {version!r} != {c['version']!r}: {json.dumps(doc)[:2000]}")
        check("values" in doc, f"helm document has no values: {json.dumps(doc)[:2000]}")
        values = doc["values"]
        if isinstance(values, str):
            values = yaml.safe_load(values)
        check(values == c["values"], f"helm document values {values!r} != {c['values']!r}")
    return {"charts": result_charts(pushed)}


# --- scenario: classic HTTP chart repository -----------------------------------------


def search_repo(index: dict, term: str):
    """What `helm search repo TERM` lists: the newest version of every chart whose name,
    description or keywords contain TERM (case-insensitive), as "repo/name" rows."""
    term = term.lower()
    rows = []
    for name, versions in sorted(index.get("entries", {}).items()):
        if not versions:
            continue
        newest = versions[0]
        text = " ".join([name, newest.get("description") or "", " ".join(newest.get("keywords") or [])]).lower()
        if term in text:
            rows.append({"name": f"arca/{name}", "version": newest["version"], "app_version": newest.get("appVersion")})
    return rows


def chart_urls(c: dict) -> list:
    """The relative URLs index.yaml may give for a chart archive: the blob itself, or the
    blob under its file name (docs/api.md, "Downloads under a file name")."""
    blob = f"charts/{c['name']}/blobs/sha256:{c['sha256']}"
    return [f"/v2/{blob}", f"/_arca/v1/repositories/{blob}/{c['name']}-{c['version']}.tgz"]


def scenario_classic(host: str, work: str) -> dict:
    """The helm plugin's view as a classic chart repository, read by Helm's repo code."""
    pushed = push_fixture_charts(host, work)
    repo_url = f"http://{host}/_arca/v1/views/helm/charts"

    # 1. index.yaml as a plain HTTP client sees it.
    r = http("GET", f"{repo_url}/index.yaml", 200, "classic repository index")
    try:
        index = yaml.safe_load(r.text)
    except yaml.YAMLError as e:
        raise AssertionError(f"index.yaml is not YAML ({e}):\n{show_body(r)}")
    check(isinstance(index, dict), f"index.yaml is not a mapping:\n{show_body(r)}")
    check(index.get("apiVersion") == "v1", f"index.yaml apiVersion: {index.get('apiVersion')!r}")
    entries = index.get("entries") or {}
    check(sorted(entries) == ["alpha", "beta"], f"index.yaml entries: {sorted(entries)}")
    versions = [str(e.get("version")) for e in entries["alpha"]]
    check(versions == ["0.2.0", "0.1.0"], f"alpha versions in index.yaml (newest first): {versions}")
    versions = [str(e.get("version")) for e in entries["beta"]]
    check(versions == ["1.0.0+build.1"], f"beta versions in index.yaml: {versions}")
    named = {}  # whether each entry links its archive under Helm's file name
    for name, listed in entries.items():
        for e in listed:
            c = pushed[f"{name}@{e['version']}"]
            check(e.get("name") == name, f"index entry {name} {e['version']}: name {e.get('name')!r}")
            check(e.get("apiVersion") == "v2", f"index entry {name} {e['version']}: apiVersion {e.get('apiVersion')!r}")
            check(e.get("digest") == c["sha256"], f"index entry {name} {e['version']}: digest {e.get('digest')!r} != sha256 of the tgz {c['sha256']}")
            urls = e.get("urls") or []
            want = chart_urls(c)
            check(len(urls) >= 1 and urls[0] in want, f"index entry {name} {e['version']}: urls {urls}, expected one of {want}")
            blob = http("GET", f"http://{host}{urls[0]}", 200, f"chart archive {urls[0]}")
            check(blob.content == read(c["tgz"]), f"{urls[0]}: bytes differ from the pushed tgz")
            if urls[0].endswith(".tgz"):
                disposition = blob.headers.get("Content-Disposition", "")
                check(f"{c['name']}-{c['version']}.tgz" in disposition, f"{urls[0]}: Content-Disposition {disposition!r}")
            named[f"{name}@{e['version']}"] = urls[0].endswith(f"/{c['name']}-{c['version']}.tgz")

    # 2. Helm's repository code: the index download + parse behind `helm repo add/update`.
    try:
        hidx = helm.repo_index(repo_url)
    except helm.HelmError as e:
        raise AssertionError(f"Helm cannot load {repo_url}/index.yaml (what `helm repo add` does): {e}\n{show_body(r)}")
    check(sorted(hidx.get("entries", {})) == ["alpha", "beta"], f"Helm's view of the index: {json.dumps(hidx)[:2000]}")
    check([v["version"] for v in hidx["entries"]["alpha"]] == ["0.2.0", "0.1.0"], f"Helm's alpha entries: {hidx['entries']['alpha']}")

    # 3. `helm search repo`: by name and by keyword.
    rows = search_repo(hidx, "alpha")
    check([(x["name"], x["version"]) for x in rows] == [("arca/alpha", "0.2.0")], f"search repo alpha: {rows}")
    rows = search_repo(hidx, "arca e2e chart")
    check([x["name"] for x in rows] == ["arca/alpha", "arca/beta"], f"search repo 'arca e2e chart': {rows}")
    rows = search_repo(hidx, "arca-e2e-backend")
    check([(x["name"], x["version"]) for x in rows] == [("arca/beta", "1.0.0+build.1")], f"search repo by keyword: {rows}")

    # 4. `helm pull alpha --version 0.1.0 --repo URL`: Helm resolves the index's relative URL
    #    against the repository URL and names the file after the URL's last path segment.
    a1 = pushed["alpha@0.1.0"]
    out = os.path.join(work, "classic-pull")
    os.makedirs(out)
    try:
        helm.pull("alpha", repo_url=repo_url, version="0.1.0", destination=out)
    except helm.HelmError as e:
        raise AssertionError(f"helm pull alpha --version 0.1.0 --repo {repo_url}: {e}")
    files = os.listdir(out)
    check(len(files) == 1, f"helm pull from the classic repository wrote {files}")
    pulled_name = files[0]
    if named["alpha@0.1.0"]:
        check(pulled_name == "alpha-0.1.0.tgz", f"helm pull from the classic repository wrote {pulled_name}")
    else:  # a bare blob URL: Helm names the file `sha256:<hex>`
        check(pulled_name == f"sha256:{a1['sha256']}", f"helm pull from the classic repository wrote {pulled_name}")
    check(read(os.path.join(out, pulled_name)) == read(a1["tgz"]), f"helm pull from the classic repository: {pulled_name} differs from the pushed alpha-0.1.0.tgz")
    with helm.Chart.load(os.path.join(out, pulled_name)) as ch:
        check((ch.name, ch.version) == ("alpha", "0.1.0"), f"pulled chart: {ch.metadata}")

    # 5. `helm show values|chart NAME --repo URL` (the newest version: the SDK's
    #    show(version=) is broken, "unknown field version"), and of the pulled archive.
    shown = yaml.safe_load(helm.show("alpha", repo_url=repo_url, output_format="values"))
    check(shown == pushed["alpha@0.2.0"]["values"], f"helm show values alpha --repo: {shown}")
    shown = yaml.safe_load(helm.show(os.path.join(out, pulled_name), output_format="values"))
    check(shown == a1["values"], f"helm show values of the pulled alpha 0.1.0: {shown}")
    shown = yaml.safe_load(helm.show("beta", repo_url=repo_url, output_format="chart"))
    check(shown.get("name") == "beta" and str(shown.get("version")) == "1.0.0+build.1", f"helm show chart beta --repo: {shown}")

    # 6. `helm dependency update` of a chart that depends on alpha 0.1.0 from this
    #    repository: Helm registers the repository (as `helm repo add` would), reads its
    #    index and downloads the archive into charts/, named like `helm pull` names it. A
    #    bare blob URL gives `charts/sha256:<hex>`, which Helm's loader cannot use as a
    #    subchart (not `*.tgz`): only when index.yaml links the archive under its file
    #    name is the result checked to load.
    app = os.path.join(work, "app")
    write(
        os.path.join(app, "Chart.yaml"),
        yaml.safe_dump({
            "apiVersion": "v2", "name": "app", "version": "0.0.1",
            "dependencies": [{"name": "alpha", "version": "0.1.0", "repository": repo_url}],
        }, sort_keys=False),
    )
    write(os.path.join(app, "values.yaml"), "{}\n")
    try:
        helm.dependency_update(app)
    except helm.HelmError as e:
        raise AssertionError(f"helm dependency update (alpha 0.1.0 from {repo_url}): {e}")
    charts = os.path.join(app, "charts")
    deps = sorted(os.listdir(charts)) if os.path.isdir(charts) else []
    check(len(deps) == 1, f"helm dependency update: charts/ holds {deps}")
    check(read(os.path.join(charts, deps[0])) == read(a1["tgz"]), f"helm dependency update: charts/{deps[0]} differs from alpha-0.1.0.tgz")
    lock = yaml.safe_load(read(os.path.join(app, "Chart.lock")))
    check([(d["name"], d["version"], d["repository"]) for d in lock["dependencies"]] == [("alpha", "0.1.0", repo_url)], f"Chart.lock: {lock}")
    if named["alpha@0.1.0"]:
        check(deps == ["alpha-0.1.0.tgz"], f"helm dependency update: charts/ holds {deps}")
        listed = helm.dependency_list(app)
        check([(d["name"], d["status"]) for d in listed] == [("alpha", "ok")], f"helm dependency list: {listed}")
        with helm.Chart.load(app) as parent:
            subcharts = [(d["name"], d["version"]) for d in parent.dependencies]
            check(subcharts == [("alpha", "0.1.0")], f"the parent chart's loaded subcharts: {subcharts}")
            rendered = parent.render(name="demo")
            check(any("alpha" in k for k in rendered), f"the subchart's templates do not render: {list(rendered)}")
    return {"charts": result_charts(pushed), "pulled_file_name": pulled_name, "dependency_file_name": deps[0]}


# --- scenario: malformed charts ------------------------------------------------------


def tgz(files: dict, symlinks: dict = None) -> bytes:
    """A chart archive built by hand: {path: bytes} regular files, {path: target} symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            t.addfile(info, io.BytesIO(data))
        for path, target in (symlinks or {}).items():
            info = tarfile.TarInfo(path)
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, 1700000000
            t.addfile(info)
    return buf.getvalue()


def chart_files(name: str, version: str, values: bytes = None, schema=None, extra: dict = None) -> dict:
    files = {
        f"{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\ndescription: malformed on purpose\n".encode(),
        f"{name}/values.yaml": values if values is not None else b"replicaCount: 1\nimage:\n  repository: nginx\n",
        f"{name}/templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    }
    if schema is not None:
        files[f"{name}/values.schema.json"] = json.dumps(schema).encode()
    files.update(extra or {})
    return files


def push_blob(host: str, repo: str, data: bytes) -> str:
    d = sha256(data)
    http("POST", f"http://{host}/v2/{repo}/blobs/uploads/?digest={d}", 201, f"push blob to {repo}", data=data,
         headers={"Content-Type": "application/octet-stream"})
    return d


def push_chart_raw(host: str, repo: str, tag: str, config: dict, archive: bytes) -> requests.Response:
    """A Helm chart manifest pushed over the OCI API, exactly as Helm lays it out."""
    cfg = json.dumps(config).encode()
    m = {
        "schemaVersion": 2,
        "config": {"mediaType": HELM_CONFIG, "digest": push_blob(host, repo, cfg), "size": len(cfg)},
        "layers": [{"mediaType": HELM_LAYER, "digest": push_blob(host, repo, archive), "size": len(archive)}],
        "annotations": {"org.opencontainers.image.title": config.get("name", ""), "org.opencontainers.image.version": config.get("version", "")},
    }
    return requests.put(f"http://{host}/v2/{repo}/manifests/{tag}", data=json.dumps(m).encode(),
                        headers={"Content-Type": MANIFEST_TYPE}, timeout=60)


def expect_refused(r: requests.Response, what: str, keywords) -> dict:
    """400 MANIFEST_INVALID from the helm plugin whose violations mention one of `keywords`."""
    check(r.status_code == 400, f"{what}: expected 400 MANIFEST_INVALID, got {r.status_code}\nbody: {show_body(r)}")
    try:
        err = r.json()["errors"][0]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"{what}: 400 without an OCI error body: {show_body(r)}")
    check(err.get("code") == "MANIFEST_INVALID", f"{what}: error code {err.get('code')!r}\nbody: {show_body(r)}")
    violations = (err.get("detail") or {}).get("violations") or []
    check(violations, f"{what}: no detail.violations\nbody: {show_body(r)}")
    for v in violations:
        check(isinstance(v.get("path"), str) and isinstance(v.get("message"), str) and v["message"],
              f"{what}: a violation without path/message: {v}")
    check(any(v.get("plugin") == "helm" for v in violations), f"{what}: no violation from plugin helm\nbody: {show_body(r)}")
    text = " ".join(f"{v['path']} {v['message']}" for v in violations if v.get("plugin") == "helm").lower()
    check(any(k.lower() in text for k in keywords), f"{what}: no helm violation mentions any of {keywords}\nbody: {show_body(r)}")
    return {"message": err.get("message"), "violations": violations}


def expect_helm_push_refused(path: str, host: str, what: str, keywords) -> str:
    """The real Helm client's push of `path` fails with the registry's 400 MANIFEST_INVALID."""
    try:
        registry_client().push(path, f"oci://{host}/charts")
    except helm.HelmRegistryError as e:
        msg = str(e)
    else:
        raise AssertionError(f"{what}: helm push {os.path.basename(path)} was accepted")
    low = msg.lower()
    check("400" in msg and "manifest invalid" in low, f"{what}: helm push failed, but not with 400 MANIFEST_INVALID: {msg}")
    check(any(k.lower() in low for k in keywords), f"{what}: Helm's error does not carry arca's reason ({keywords}): {msg}")
    return msg


def scenario_malformed(host: str, work: str) -> dict:
    """Charts the helm plugin must refuse, pushed as Helm lays them out; then a valid push."""
    repo = "charts/broken"
    good_values = b"replicaCount: 1\nimage:\n  repository: nginx\n"
    schema = {"type": "object", "required": ["replicaCount"], "properties": {"replicaCount": {"type": "integer"}}}
    cases = {
        # name: (tag, config, archive, keywords)
        "path-traversal": ("0.1.0", {"apiVersion": "v2", "name": "broken", "version": "0.1.0"},
                           tgz(chart_files("broken", "0.1.0", extra={"../evil": b"owned\n"})), ["..", "travers", "outside"]),
        "symlink": ("0.1.1", {"apiVersion": "v2", "name": "broken", "version": "0.1.1"},
                    tgz(chart_files("broken", "0.1.1"), {"broken/templates/link.yaml": "/etc/passwd"}), ["symlink", "link"]),
        "version-differs-from-config": ("0.2.0", {"apiVersion": "v2", "name": "broken", "version": "0.2.0"},
                                        tgz(chart_files("broken", "0.1.9")), ["version"]),
        "version-not-semver": ("latest", {"apiVersion": "v2", "name": "broken", "version": "latest"},
                               tgz(chart_files("broken", "latest")), ["semver", "version"]),
        "values-not-yaml": ("0.3.0", {"apiVersion": "v2", "name": "broken", "version": "0.3.0"},
                            tgz(chart_files("broken", "0.3.0", values=b"replicaCount: [1, 2\nimage: }{\n")), ["values.yaml"]),
        "values-break-schema": ("0.4.0", {"apiVersion": "v2", "name": "broken", "version": "0.4.0"},
                                tgz(chart_files("broken", "0.4.0", values=b"replicaCount: many\n", schema=schema)), ["schema"]),
        "tag-differs-from-version": ("9.9.9", {"apiVersion": "v2", "name": "broken", "version": "0.5.0"},
                                     tgz(chart_files("broken", "0.5.0", values=good_values)), ["tag"]),
    }
    refused = {}
    for case, (tag, config, archive, keywords) in cases.items():
        r = push_chart_raw(host, repo, tag, config, archive)
        refused[case] = expect_refused(r, f"malformed chart `{case}` pushed as {repo}:{tag}", keywords)
        r = requests.get(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPE}, timeout=60)
        check(r.status_code == 404, f"refused `{case}` is readable as {repo}:{tag}: {r.status_code} {show_body(r)}")

    # The real client's own push of archives Helm itself accepts (its loader allows
    # symlinks and does not check values against the schema): refused by arca, and Helm
    # reports the registry's error.
    os.makedirs(os.path.join(work, "bad"))
    helm_refused = {}
    for case, files, links, keywords in [
        ("symlink", chart_files("sneaky", "0.1.0"), {"sneaky/templates/link.yaml": "/etc/passwd"}, ["symlink", "link"]),
        ("values-break-schema", chart_files("sneaky", "0.2.0", values=b"replicaCount: many\n", schema=schema), None, ["schema"]),
    ]:
        path = os.path.join(work, "bad", f"sneaky-{case}.tgz")
        write(path, tgz(files, links))
        helm_refused[case] = expect_helm_push_refused(path, host, f"helm push of a chart with {case}", keywords)
    r = requests.get(f"http://{host}/v2/charts/sneaky/tags/list", timeout=60)
    check(r.status_code == 404 or not r.json().get("tags"), f"refused charts left tags: {r.status_code} {show_body(r)}")

    # A valid chart still goes through with the real client afterwards.
    tgz_path = package(work, "gamma", "0.3.0", "3.0.0", ["arca-e2e"], {"replicaCount": 1, "image": {"repository": "busybox"}, "service": {"port": 8000}})
    try:
        registry_client().push(tgz_path, f"oci://{host}/charts")
    except helm.HelmError as e:
        raise AssertionError(f"helm push of a valid chart after the refusals failed: {e}")
    out = os.path.join(work, "gamma-out")
    os.makedirs(out)
    registry_client().pull(f"oci://{host}/charts/gamma", version="0.3.0", destination=out)
    check(read(os.path.join(out, "gamma-0.3.0.tgz")) == read(tgz_path), "gamma pulled back differs")
    _, digest = manifest(host, "charts/gamma", "0.3.0")
    return {"refused": refused, "helm_refused": helm_refused, "valid": {"repo": "charts/gamma", "tag": "0.3.0", "digest": digest, "sha256": sha256_hex(read(tgz_path))}}


SCENARIOS = {
    "oci": scenario_oci,
    "search": scenario_search,
    "classic": scenario_classic,
    "malformed": scenario_malformed,
}


def main():
    global helm
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} HOST:PORT")
    scenario, host = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="arca-helm-") as work:
        # Helm's configuration, cache and data (repositories, registry logins) stay inside
        # the scenario: set before the Go runtime starts, which reads them at load time.
        for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
            os.environ[var] = os.path.join(work, "helm-home", var.lower())
        os.environ["HELM_REGISTRY_CONFIG"] = os.path.join(work, "helm-home", "registry.json")
        import helm_python

        helm = helm_python
        result = SCENARIOS[scenario](host, work)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
