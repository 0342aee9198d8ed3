#!/usr/bin/env python3
"""Signatures for arca's signature plugin, made by independent implementations.

Nothing here uses arca's code: cosign-format signatures are made with the `openssl` CLI,
Notation envelopes with Python `cryptography` (certificates, COSE signatures), `jwcrypto`
(JWS) and `cbor2` (COSE encoding), Rekor signed entry timestamps with `cryptography`, and
Sigstore bundles with sigstore-js (`tests/js/sigstore.js`, against @sigstore/mock).

    signature_fixtures.py unit OUTDIR
        the plugin's unit-test fixtures (plugins/signature/tests/fixtures): one directory
        per case with manifest.json, meta.json and blobs/<hex>, trust material in trust/.
    signature_fixtures.py e2e-trust DIR
        fresh trust material for an end-to-end test: cosign keys (openssl), a Notation CA
        (root + intermediate) valid around now.
    signature_fixtures.py cosign DIR REPO SUBJECT_DIGEST OUT [--key NAME] [--tamper]
        a cosign legacy `.sig` image for SUBJECT_DIGEST, signed with DIR/NAME.key.
    signature_fixtures.py notation DIR SUBJECT_JSON OUT [--envelope jws|cose] [--ca NAME]
                                  [--bad-thumbprint] [--expired]
        a Notation signature manifest for the subject descriptor SUBJECT_JSON.

Every artifact is written as OUT/manifest.json (the exact bytes to push), OUT/meta.json
({"mediaType", "tag"}) and OUT/blobs/<hex> (config and layers).
"""

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwcrypto import jwk, jws
from jwcrypto.common import JWSEHeaderParameter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIGSTORE_JS = os.path.join(ROOT, "tests", "js", "sigstore.js")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
NOTARY = "application/vnd.cncf.notary.signature"
NOTARY_PAYLOAD = "application/vnd.cncf.notary.payload.v1+json"
THUMBPRINTS = "io.cncf.notary.x509chain.thumbprint#S256"
IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
OIDC_ISSUER = "https://token.actions.example.com"
FULCIO_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

# Fixed times of the unit fixtures (Unix seconds): certificates are made around them and
# the tests verify "now" at VERIFY_AT.
UNIX = dt.timezone.utc
SIGNED_AT = dt.datetime(2026, 11, 1, 12, 0, 0, tzinfo=UNIX)
VERIFY_AT = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UNIX)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def digest(data):
    return "sha256:" + sha256(data)


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def run(*cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, check=True, capture_output=True).stdout


# ---------------------------------------------------------------------------------------
# Artifacts on disk


class Artifact:
    """A manifest with its blobs, as a client would push it."""

    def __init__(self):
        self.blobs = {}

    def blob(self, media_type, data, annotations=None):
        self.blobs[sha256(data)] = data
        d = {"mediaType": media_type, "digest": digest(data), "size": len(data)}
        if annotations:
            d["annotations"] = annotations
        return d

    def write(self, out, manifest, tag=None, extra=None):
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(os.path.join(out, "blobs"))
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        with open(os.path.join(out, "manifest.json"), "wb") as f:
            f.write(raw)
        for hexd, data in self.blobs.items():
            with open(os.path.join(out, "blobs", hexd), "wb") as f:
                f.write(data)
        meta = {"mediaType": manifest["mediaType"], "tag": tag, "digest": digest(raw)}
        meta.update(extra or {})
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        return digest(raw)


def subject_image(name="app"):
    """A small image manifest to sign (its blobs need not exist for the plugin)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"name": name}}}).encode()
    layer = ("layer of " + name).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}],
    }
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    return raw, {"mediaType": OCI_MANIFEST, "digest": digest(raw), "size": len(raw)}


# ---------------------------------------------------------------------------------------
# cosign legacy signatures, with the openssl CLI


def openssl_key(path, kind="p256"):
    if kind == "p256":
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    elif kind == "p384":
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", path)
    elif kind == "rsa":
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", path)
    elif kind == "ed25519":
        run("openssl", "genpkey", "-algorithm", "ED25519", "-out", path)
    pub = run("openssl", "pkey", "-in", path, "-pubout")
    with open(path[: -len(".key")] + ".pub.pem", "wb") as f:
        f.write(pub)


def openssl_sign(key_path, data):
    """cosign's signature over a payload: ECDSA/RSA over SHA-256 (SHA-384 for P-384), pure Ed25519."""
    text = run("openssl", "pkey", "-in", key_path, "-text", "-noout").decode()
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        if "ED25519" in text.upper():
            return run("openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key_path, "-in", f.name)
        alg = "-sha384" if "P-384" in text or "secp384r1" in text else "-sha256"
        return run("openssl", "dgst", alg, "-sign", key_path, f.name)


def simplesigning_payload(repo, subject_digest):
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": repo},
                "image": {"docker-manifest-digest": subject_digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def cosign_image(art, layers):
    """The `.sig` image cosign pushes: an OCI manifest whose config is go-containerregistry's
    empty image config with one diff_id per layer."""
    config = json.dumps(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l["digest"].split(":")[1] for l in layers]},
            "config": {},
        },
        separators=(",", ":"),
    ).encode()
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": art.blob(OCI_CONFIG, config),
        "layers": layers,
    }


def cosign_signature(out, key_path, repo, subject_digest, payload_digest=None, tamper=False,
                     signature_text=None, extra_annotations=None, rekor=None, cert_pem=None,
                     chain_pem=None, integrated_time=None):
    payload = simplesigning_payload(repo, payload_digest or subject_digest)
    sig = openssl_sign(key_path, payload)
    if tamper:
        payload = payload.replace(repo.encode(), (repo + "-evil").encode())
    annotations = {"dev.cosignproject.cosign/signature": signature_text or b64(sig)}
    if cert_pem:
        annotations["dev.sigstore.cosign/certificate"] = cert_pem
        annotations["dev.sigstore.cosign/chain"] = chain_pem or ""
    if rekor:
        signer_pem = cert_pem.encode() if cert_pem else run("openssl", "pkey", "-in", key_path, "-pubout")
        annotations["dev.sigstore.cosign/bundle"] = json.dumps(
            rekor_bundle(rekor, hashlib.sha256(payload).hexdigest(), sig, signer_pem, integrated_time)
        )
    annotations.update(extra_annotations or {})
    art = Artifact()
    layer = art.blob(SIMPLESIGNING, payload, annotations)
    manifest = cosign_image(art, [layer])
    tag = subject_digest.replace(":", "-") + ".sig"
    return art.write(out, manifest, tag=tag, extra={"subject": subject_digest})


# ---------------------------------------------------------------------------------------
# A Rekor log entry with its signed entry timestamp, made with `cryptography`


def rekor_bundle(rekor_key, payload_sha256, sig, signer_pem, integrated_time=None):
    body = json.dumps(
        {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": payload_sha256}},
                "signature": {"content": b64(sig), "publicKey": {"content": b64(signer_pem)}},
            },
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    spki = rekor_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = {
        "body": b64(body),
        "integratedTime": int(integrated_time or SIGNED_AT.timestamp()),
        "logID": sha256(spki),
        "logIndex": 4242,
    }
    canonical = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    set_ = rekor_key.sign(canonical, ec.ECDSA(hashes.SHA256()))
    return {"SignedEntryTimestamp": b64(set_), "Payload": payload}


# ---------------------------------------------------------------------------------------
# X.509 certificates with `cryptography`


def name(cn, org="Acme"):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject, key, issuer_name, issuer_key, not_before, not_after, ca=False, sans=None, extra=None,
              code_signing=True):
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca and code_signing:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for ext in extra or []:
        b = b.add_extension(ext, critical=False)
    alg = hashes.SHA384() if isinstance(issuer_key, ec.EllipticCurvePrivateKey) and issuer_key.curve.name == "secp384r1" else hashes.SHA256()
    return b.sign(issuer_key, alg)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


class CA:
    """A root and an intermediate, issuing code-signing leaves."""

    def __init__(self, label, not_before, not_after):
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = make_cert(name(f"{label} Root CA"), self.root_key, name(f"{label} Root CA"), self.root_key,
                              not_before, not_after, ca=True)
        self.int_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = make_cert(name(f"{label} Intermediate CA"), self.int_key, self.root.subject,
                                      self.root_key, not_before, not_after, ca=True)

    def leaf(self, cn, key, not_before, not_after, sans=None):
        return make_cert(name(cn), key, self.intermediate.subject, self.int_key, not_before, not_after, sans=sans)

    def save(self, d, label):
        for n, obj in [("root", self.root), ("intermediate", self.intermediate)]:
            with open(os.path.join(d, f"{label}-{n}.pem"), "w") as f:
                f.write(pem(obj))
        for n, k in [("root", self.root_key), ("intermediate", self.int_key)]:
            with open(os.path.join(d, f"{label}-{n}.key"), "wb") as f:
                f.write(key_pem(k))

    @classmethod
    def load(cls, d, label):
        ca = cls.__new__(cls)
        ca.root = load_cert(os.path.join(d, f"{label}-root.pem"))
        ca.root_key = load_key(os.path.join(d, f"{label}-root.key"))
        ca.intermediate = load_cert(os.path.join(d, f"{label}-intermediate.pem"))
        ca.int_key = load_key(os.path.join(d, f"{label}-intermediate.key"))
        return ca


# ---------------------------------------------------------------------------------------
# Notation signatures (Notary Project specification: signature-specification.md,
# signature-envelope-jws.md, signature-envelope-cose.md)

NOTARY_HEADERS = {
    h: JWSEHeaderParameter(h, True, True, None)
    for h in ["io.cncf.notary.signingScheme", "io.cncf.notary.signingTime", "io.cncf.notary.expiry",
              "io.cncf.notary.authenticSigningTime"]
}


def rfc3339(t):
    return t.astimezone(UNIX).strftime("%Y-%m-%dT%H:%M:%SZ")


def jws_alg(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    return {"secp256r1": "ES256", "secp384r1": "ES384"}[key.curve.name]


def jws_envelope(payload, key, chain, signing_time, omit=(), expiry=None):
    protected = {
        "alg": jws_alg(key),
        "cty": NOTARY_PAYLOAD,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": rfc3339(signing_time),
        "crit": ["io.cncf.notary.signingScheme"],
    }
    if expiry:
        protected["io.cncf.notary.expiry"] = rfc3339(expiry)
        protected["crit"].append("io.cncf.notary.expiry")
    for k in omit:
        protected.pop(k, None)
    token = jws.JWS(payload, header_registry=NOTARY_HEADERS)
    token.add_signature(
        jwk.JWK.from_pem(key_pem(key)),
        alg=None,
        protected=json.dumps(protected),
        header=json.dumps({"x5c": [b64(der(c)) for c in chain], "io.cncf.notary.signingAgent": "arca-fixtures/1.0"}),
    )
    env = json.loads(token.serialize(compact=False))
    # jwcrypto writes a flattened serialization for one signature; keep exactly its fields.
    return json.dumps({k: env[k] for k in ("payload", "protected", "header", "signature")}).encode()


def cose_sign(key, data):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()), -37
    h = hashes.SHA256() if key.curve.name == "secp256r1" else hashes.SHA384()
    size = 32 if key.curve.name == "secp256r1" else 48
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big"), (-7 if size == 32 else -35)


def cose_envelope(payload, key, chain, signing_time):
    _, alg = cose_sign(key, b"")
    protected = cbor2.dumps(
        {
            1: alg,
            2: ["io.cncf.notary.signingScheme"],
            3: NOTARY_PAYLOAD,
            "io.cncf.notary.signingScheme": "notary.x509",
            "io.cncf.notary.signingTime": cbor2.CBORTag(1, int(signing_time.timestamp())),
        }
    )
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    signature, _ = cose_sign(key, to_be_signed)
    unprotected = {33: [der(c) for c in chain], "io.cncf.notary.signingAgent": "arca-fixtures/1.0"}
    return cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))


def notation_signature(out, subject, key, chain, signing_time, envelope="jws", target=None,
                       thumbprints=None, omit=(), tamper=False, expiry=None):
    payload = json.dumps({"targetArtifact": target or subject}, separators=(",", ":")).encode()
    if envelope == "jws":
        env = jws_envelope(payload, key, chain, signing_time, omit=omit, expiry=expiry)
        media_type = "application/jose+json"
        if tamper:
            e = json.loads(env)
            sig = base64.urlsafe_b64decode(e["signature"] + "==")
            e["signature"] = b64url(bytes([sig[0] ^ 1]) + sig[1:])
            env = json.dumps(e).encode()
    else:
        env = cose_envelope(payload, key, chain, signing_time)
        media_type = "application/cose"
        if tamper:
            env = env[:-1] + bytes([env[-1] ^ 1])
    art = Artifact()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": NOTARY,
        "config": art.blob(OCI_EMPTY, b"{}"),
        "layers": [art.blob(media_type, env)],
        "subject": subject,
        "annotations": {
            THUMBPRINTS: json.dumps(thumbprints if thumbprints is not None else [sha256(der(c)) for c in chain]),
            "org.opencontainers.image.created": rfc3339(signing_time),
        },
    }
    return art.write(out, manifest, extra={"subject": subject["digest"]})


# ---------------------------------------------------------------------------------------
# Sigstore bundles, with sigstore-js


def node(*args):
    node_bin = shutil.which("node")
    if not node_bin:
        sys.exit("node is required (tests/tools/install-signature-tools.sh)")
    return run(node_bin, SIGSTORE_JS, *args)


def sigstore_bundle(trust_dir, kind, payload):
    with tempfile.NamedTemporaryFile() as f:
        f.write(payload)
        f.flush()
        return json.loads(node("sign", trust_dir, kind, IDENTITY, f.name))


def statement(subject_digest):
    alg, hexd = subject_digest.split(":")
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "registry.example/app", "digest": {alg: hexd}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        }
    ).encode()


def bundle_referrer(out, subject, bundle, artifact_type=None):
    art = Artifact()
    media_type = artifact_type or bundle["mediaType"]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": media_type,
        "config": art.blob(OCI_EMPTY, b"{}"),
        "layers": [art.blob(media_type, json.dumps(bundle).encode())],
        "subject": subject,
        "annotations": {"dev.sigstore.bundle.content": "message-signature" if "messageSignature" in bundle else "dsse-envelope"},
    }
    return art.write(out, manifest, extra={"subject": subject["digest"]})


# ---------------------------------------------------------------------------------------
# Commands


def unit(outdir):
    os.makedirs(outdir, exist_ok=True)
    for entry in os.listdir(outdir):
        if entry not in ("README.md",):
            p = os.path.join(outdir, entry)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    trust = os.path.join(outdir, "trust")
    os.makedirs(trust)
    keys = os.path.join(outdir, ".keys")  # private keys never leave this run
    os.makedirs(keys)
    case = lambda n: os.path.join(outdir, n)  # noqa: E731
    times = {"verifyAt": int(VERIFY_AT.timestamp()), "signedAt": int(SIGNED_AT.timestamp())}
    subject_raw, subject = subject_image("app")
    repo = "registry.example/app"
    with open(os.path.join(outdir, "subject.json"), "wb") as f:
        f.write(subject_raw)

    # cosign legacy: keys made and used by openssl.
    for label, kind in [("release", "p256"), ("other", "p256"), ("rsa", "rsa"), ("ed25519", "ed25519"), ("p384", "p384")]:
        openssl_key(os.path.join(keys, f"{label}.key"), kind)
        shutil.copy(os.path.join(keys, f"{label}.pub.pem"), os.path.join(trust, f"cosign-{label}.pub.pem"))
    k = lambda n: os.path.join(keys, f"{n}.key")  # noqa: E731
    cosign_signature(case("cosign-p256"), k("release"), repo, subject["digest"])
    cosign_signature(case("cosign-rsa"), k("rsa"), repo, subject["digest"])
    cosign_signature(case("cosign-ed25519"), k("ed25519"), repo, subject["digest"])
    cosign_signature(case("cosign-p384"), k("p384"), repo, subject["digest"])
    cosign_signature(case("cosign-wrong-key"), k("other"), repo, subject["digest"])
    cosign_signature(case("cosign-tampered-payload"), k("release"), repo, subject["digest"], tamper=True)
    other_raw, other = subject_image("other")
    cosign_signature(case("cosign-other-digest"), k("release"), repo, subject["digest"], payload_digest=other["digest"])
    cosign_signature(case("cosign-bad-base64"), k("release"), repo, subject["digest"], signature_text="not*base64!")

    # ... with a Rekor bundle annotation (SET by a Rekor key made here).
    rekor_key = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(trust, "rekor-py.pub.pem"), "wb") as f:
        f.write(rekor_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    cosign_signature(case("cosign-p256-rekor"), k("release"), repo, subject["digest"], rekor=rekor_key)
    cosign_signature(case("cosign-p256-rekor-bad-set"), k("release"), repo, subject["digest"],
                     rekor=ec.generate_private_key(ec.SECP256R1()))

    # ... keyless: a Fulcio-like CA issues a 10-minute certificate, the log proves the time.
    fulcio = CA("Fulcio Test", SIGNED_AT - dt.timedelta(days=30), SIGNED_AT + dt.timedelta(days=365))
    with open(os.path.join(trust, "fulcio-py.pem"), "w") as f:
        f.write(pem(fulcio.root))
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(keys, "ephemeral.key"), "wb") as f:
        f.write(key_pem(ephemeral))
    leaf = make_cert(x509.Name([]), ephemeral, fulcio.intermediate.subject, fulcio.int_key, SIGNED_AT,
                     SIGNED_AT + dt.timedelta(minutes=10),
                     sans=[x509.UniformResourceIdentifier(IDENTITY)],
                     extra=[x509.UnrecognizedExtension(FULCIO_ISSUER_OID, b"\x0c" + bytes([len(OIDC_ISSUER)]) + OIDC_ISSUER.encode())])
    cosign_signature(case("cosign-keyless"), os.path.join(keys, "ephemeral.key"), repo, subject["digest"],
                     rekor=rekor_key, cert_pem=pem(leaf), chain_pem=pem(fulcio.intermediate) + pem(fulcio.root),
                     integrated_time=SIGNED_AT.timestamp() + 60)
    cosign_signature(case("cosign-keyless-expired"), os.path.join(keys, "ephemeral.key"), repo, subject["digest"],
                     rekor=rekor_key, cert_pem=pem(leaf), chain_pem=pem(fulcio.intermediate) + pem(fulcio.root),
                     integrated_time=SIGNED_AT.timestamp() + 3600)

    # Notation: a test CA (root + intermediate), leaves for ES256 and PS256.
    acme = CA("Acme", SIGNED_AT - dt.timedelta(days=365), SIGNED_AT + dt.timedelta(days=3650))
    rogue = CA("Rogue", SIGNED_AT - dt.timedelta(days=365), SIGNED_AT + dt.timedelta(days=3650))
    with open(os.path.join(trust, "notation-acme-root.pem"), "w") as f:
        f.write(pem(acme.root))
    with open(os.path.join(trust, "notation-rogue-root.pem"), "w") as f:
        f.write(pem(rogue.root))
    valid = (SIGNED_AT - dt.timedelta(days=30), SIGNED_AT + dt.timedelta(days=365))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_leaf = acme.leaf("Acme Release Signing", ec_key, *valid, sans=[x509.RFC822Name("release@acme.example")])
    chain = [ec_leaf, acme.intermediate, acme.root]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    rsa_leaf = acme.leaf("Acme RSA Signing", rsa_key, *valid)
    notation_signature(case("notation-jws-es256"), subject, ec_key, chain, SIGNED_AT)
    notation_signature(case("notation-jws-ps256"), subject, rsa_key, [rsa_leaf, acme.intermediate, acme.root], SIGNED_AT)
    notation_signature(case("notation-jws-without-root"), subject, ec_key, [ec_leaf, acme.intermediate], SIGNED_AT)
    notation_signature(case("notation-cose-es256"), subject, ec_key, chain, SIGNED_AT, envelope="cose")
    notation_signature(case("notation-cose-ps256"), subject, rsa_key, [rsa_leaf, acme.intermediate, acme.root],
                       SIGNED_AT, envelope="cose")
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_leaf = rogue.leaf("Rogue Signing", rogue_key, *valid)
    notation_signature(case("notation-jws-untrusted"), subject, rogue_key, [rogue_leaf, rogue.intermediate, rogue.root], SIGNED_AT)
    old_key = ec.generate_private_key(ec.SECP256R1())
    old_leaf = acme.leaf("Acme Old Signing", old_key, SIGNED_AT - dt.timedelta(days=300), SIGNED_AT - dt.timedelta(days=100))
    notation_signature(case("notation-jws-expired"), subject, old_key, [old_leaf, acme.intermediate, acme.root], SIGNED_AT)
    notation_signature(case("notation-jws-bad-thumbprint"), subject, ec_key, chain, SIGNED_AT,
                       thumbprints=[sha256(der(rogue.root)), sha256(der(acme.intermediate)), sha256(der(acme.root))])
    notation_signature(case("notation-jws-other-target"), subject, ec_key, chain, SIGNED_AT, target=other)
    notation_signature(case("notation-jws-no-crit"), subject, ec_key, chain, SIGNED_AT, omit=("crit",))
    notation_signature(case("notation-jws-no-signing-time"), subject, ec_key, chain, SIGNED_AT,
                       omit=("io.cncf.notary.signingTime",))
    notation_signature(case("notation-jws-tampered"), subject, ec_key, chain, SIGNED_AT, tamper=True)
    notation_signature(case("notation-cose-tampered"), subject, ec_key, chain, SIGNED_AT, envelope="cose", tamper=True)
    notation_signature(case("notation-jws-expired-signature"), subject, ec_key, chain, SIGNED_AT,
                       expiry=SIGNED_AT + dt.timedelta(days=1))

    # Sigstore bundles from sigstore-js against @sigstore/mock; the mock's CA certificate
    # and Rekor key are the trust material.
    mock = os.path.join(keys, "sigstore-mock")
    node("trust", mock)
    shutil.copy(os.path.join(mock, "fulcio-root.pem"), os.path.join(trust, "sigstore-mock-fulcio-root.pem"))
    shutil.copy(os.path.join(mock, "rekor.pub.pem"), os.path.join(trust, "sigstore-mock-rekor.pub.pem"))
    message = sigstore_bundle(mock, "message", subject_raw)
    bundle_referrer(case("sigstore-message"), subject, message)
    dsse = sigstore_bundle(mock, "dsse", statement(subject["digest"]))
    bundle_referrer(case("sigstore-dsse"), subject, dsse)
    intoto = sigstore_bundle(mock, "dsse-intoto", statement(subject["digest"]))
    bundle_referrer(case("sigstore-dsse-intoto"), subject, intoto)
    # Tampered: a signature from another bundle; a log time the SET does not cover.
    t = json.loads(json.dumps(dsse))
    t["dsseEnvelope"]["signatures"][0]["sig"] = intoto["dsseEnvelope"]["signatures"][0]["sig"]
    bundle_referrer(case("sigstore-tampered-signature"), subject, t)
    t = json.loads(json.dumps(dsse))
    entry = t["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) - 86400)
    entry.pop("inclusionProof")
    bundle_referrer(case("sigstore-tampered-tlog"), subject, t)
    t = json.loads(json.dumps(message))
    t["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["rootHash"] = b64(b"\0" * 32)
    bundle_referrer(case("sigstore-tampered-proof"), subject, t)
    # Well-formed, but for another manifest than its subject.
    bundle_referrer(case("sigstore-other-subject"), other, message)
    bundle_referrer(case("sigstore-dsse-other-subject"), other, dsse)
    with open(os.path.join(outdir, "times.json"), "w") as f:
        json.dump(times, f, indent=2)
        f.write("\n")
    shutil.rmtree(keys)


def e2e_trust(d):
    os.makedirs(d, exist_ok=True)
    for label in ("release", "other"):
        openssl_key(os.path.join(d, f"{label}.key"), "p256")
    now = dt.datetime.now(UNIX)
    CA("Acme", now - dt.timedelta(days=1), now + dt.timedelta(days=365)).save(d, "acme")
    CA("Rogue", now - dt.timedelta(days=1), now + dt.timedelta(days=365)).save(d, "rogue")


def notation_cmd(d, subject, out, envelope, ca_label, bad_thumbprint, expired):
    ca = CA.load(d, ca_label)
    now = dt.datetime.now(UNIX)
    key = ec.generate_private_key(ec.SECP256R1())
    if expired:
        leaf = ca.leaf("Acme Expired Signing", key, now - dt.timedelta(days=10), now - dt.timedelta(days=5))
    else:
        leaf = ca.leaf("Acme Release Signing", key, now - dt.timedelta(hours=1), now + dt.timedelta(days=30),
                       sans=[x509.RFC822Name("release@acme.example")])
    chain = [leaf, ca.intermediate, ca.root]
    thumbs = [sha256(der(ca.root))] * 3 if bad_thumbprint else None
    return notation_signature(out, subject, key, chain, now, envelope=envelope, thumbprints=thumbs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("unit")
    u.add_argument("outdir")
    t = sub.add_parser("e2e-trust")
    t.add_argument("dir")
    c = sub.add_parser("cosign")
    c.add_argument("dir")
    c.add_argument("repo")
    c.add_argument("subject")
    c.add_argument("out")
    c.add_argument("--key", default="release")
    c.add_argument("--tamper", action="store_true")
    c.add_argument("--payload-digest")
    n = sub.add_parser("notation")
    n.add_argument("dir")
    n.add_argument("subject", help="the subject descriptor as JSON")
    n.add_argument("out")
    n.add_argument("--envelope", choices=["jws", "cose"], default="jws")
    n.add_argument("--ca", default="acme")
    n.add_argument("--bad-thumbprint", action="store_true")
    n.add_argument("--expired", action="store_true")
    a = p.parse_args()
    if a.cmd == "unit":
        unit(a.outdir)
    elif a.cmd == "e2e-trust":
        e2e_trust(a.dir)
    elif a.cmd == "cosign":
        d = cosign_signature(a.out, os.path.join(a.dir, f"{a.key}.key"), a.repo, a.subject,
                             payload_digest=a.payload_digest, tamper=a.tamper)
        print("RESULT " + json.dumps({"digest": d}))
    elif a.cmd == "notation":
        d = notation_cmd(a.dir, json.loads(a.subject), a.out, a.envelope, a.ca, a.bad_thumbprint, a.expired)
        print("RESULT " + json.dumps({"digest": d}))


if __name__ == "__main__":
    main()
