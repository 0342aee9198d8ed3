#!/usr/bin/env node
// Sigstore signatures made by sigstore-js (the real `sigstore` package, 4.1.1) against
// in-process Fulcio and Rekor mocks (`@sigstore/mock`), and attached to images in an OCI
// registry with `@sigstore/oci`. Used by arca's signature e2e tests and to make the
// signature plugin's test fixtures; arca's own code never signs anything here.
//
//   node sigstore.js trust DIR
//       new Fulcio CA and Rekor keys in DIR (fulcio.key, rekor.key: PKCS#8 PEM) and the
//       trust material a verifier needs: fulcio-root.pem (the CA certificate) and
//       rekor.pub.pem (the log's public key).
//   node sigstore.js sign DIR KIND IDENTITY PAYLOAD_FILE [PAYLOAD_TYPE]
//       a bundle over the file's bytes, printed as JSON: KIND `message` (a hashedrekord
//       message signature) or `dsse` (a DSSE envelope of PAYLOAD_TYPE, logged as `dsse`,
//       or `intoto` for KIND `dsse-intoto`). IDENTITY is the OIDC subject (the
//       certificate's URI SAN).
//   node sigstore.js attach DIR KIND IDENTITY HOST:PORT/REPO DIGEST
//       fetch the manifest DIGEST from the registry, sign it (KIND `message`: its bytes;
//       `dsse`: an in-toto statement naming it) and attach the bundle as a referrer with
//       @sigstore/oci. Prints `RESULT {json}` with the referrer's digest.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const nock = require('nock');
const sigstore = require('sigstore');
const oci = require('@sigstore/oci');
const {
  initializeCA,
  initializeCTLog,
  initializeTLog,
  fulcioHandler,
  rekorHandler,
} = require('@sigstore/mock');

const FULCIO_URL = 'https://fulcio.sigstore.dev';
const REKOR_URL = 'https://rekor.sigstore.dev';
const ISSUER = 'https://token.actions.example.com';
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const STATEMENT_TYPE = 'application/vnd.in-toto+json';

function loadKeys(dir) {
  const load = (name) => {
    const privateKey = crypto.createPrivateKey(fs.readFileSync(path.join(dir, name)));
    return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
  };
  return { fulcio: load('fulcio.key'), rekor: load('rekor.key') };
}

async function trust(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['fulcio.key', 'rekor.key']) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(path.join(dir, name), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }
  const keys = loadKeys(dir);
  const ca = await initializeCA(keys.fulcio, await initializeCTLog(keys.fulcio));
  const pem = (der, label) =>
    `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g).join('\n')}\n-----END ${label}-----\n`;
  fs.writeFileSync(path.join(dir, 'fulcio-root.pem'), pem(ca.rootCertificate, 'CERTIFICATE'));
  fs.writeFileSync(
    path.join(dir, 'rekor.pub.pem'),
    keys.rekor.publicKey.export({ format: 'pem', type: 'spki' }),
  );
}

// Mocks answer one request each, so they are set up again before every signature. The CA
// is re-created from the same key and name, so its leaves chain to fulcio-root.pem.
async function mockServices(dir) {
  const keys = loadKeys(dir);
  const ca = await initializeCA(keys.fulcio, await initializeCTLog(keys.fulcio));
  const tlog = await initializeTLog(REKOR_URL, keys.rekor);
  for (const [url, handler] of [
    [FULCIO_URL, fulcioHandler(ca)],
    [REKOR_URL, rekorHandler(tlog)],
  ]) {
    nock(url)
      .post(handler.path)
      .reply(async (_, body) => {
        const req = typeof body === 'string' ? body : JSON.stringify(body);
        const { statusCode, response, contentType } = await handler.fn(req);
        return [statusCode, response, { 'Content-Type': contentType || 'text/plain' }];
      });
  }
}

// An OIDC token as Fulcio reads it (the mock does not check its signature).
function identityToken(subject) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, sub: subject, aud: 'sigstore', iat: now, exp: now + 600 };
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

async function sign(dir, kind, identity, payload, payloadType) {
  await mockServices(dir);
  const options = {
    fulcioURL: FULCIO_URL,
    rekorURL: REKOR_URL,
    identityToken: identityToken(identity),
    retry: 0,
  };
  switch (kind) {
    case 'message':
      return sigstore.sign(payload, options);
    case 'dsse':
      return sigstore.attest(payload, payloadType || STATEMENT_TYPE, options);
    case 'dsse-intoto':
      return sigstore.attest(payload, payloadType || STATEMENT_TYPE, {
        ...options,
        legacyCompatibility: true,
      });
    default:
      throw new Error(`unknown signature kind ${kind}`);
  }
}

// The in-toto statement cosign's bundle format signs for an image.
function statementFor(name, digest) {
  const [algorithm, hex] = digest.split(':');
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name, digest: { [algorithm]: hex } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

async function attach(dir, kind, identity, imageRef, digest) {
  const slash = imageRef.indexOf('/');
  const hostPort = imageRef.slice(0, slash);
  const repo = imageRef.slice(slash + 1);
  const response = await fetch(`http://${hostPort}/v2/${repo}/manifests/${digest}`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  if (response.status !== 200) {
    throw new Error(`GET manifest ${digest}: HTTP ${response.status}`);
  }
  const manifest = Buffer.from(await response.arrayBuffer());
  const got = `sha256:${crypto.createHash('sha256').update(manifest).digest('hex')}`;
  if (got !== digest) {
    throw new Error(`manifest ${digest} hashes to ${got}`);
  }
  const bundle =
    kind === 'message'
      ? await sign(dir, 'message', identity, manifest)
      : await sign(dir, kind, identity, statementFor(imageRef, digest));
  // The mocks only answer sigstore.dev hosts; the registry is reached for real.
  nock.cleanAll();
  nock.restore();
  const descriptor = await oci.attachArtifactToImage({
    imageName: imageRef,
    imageDigest: digest,
    artifact: Buffer.from(JSON.stringify(bundle)),
    mediaType: BUNDLE_MEDIA_TYPE,
    annotations: {
      'dev.sigstore.bundle.content': kind === 'message' ? 'message-signature' : 'dsse-envelope',
      ...(kind === 'message' ? {} : { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' }),
    },
    credentials: undefined,
  });
  return { referrer: descriptor.digest, subjectDigest: descriptor.subjectDigest || null, bundle };
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'trust':
      await trust(args[0]);
      break;
    case 'sign': {
      const [dir, kind, identity, file, payloadType] = args;
      const bundle = await sign(dir, kind, identity, fs.readFileSync(file), payloadType);
      process.stdout.write(`${JSON.stringify(bundle, null, 2)}\n`);
      break;
    }
    case 'attach': {
      const [dir, kind, identity, imageRef, digest] = args;
      const result = await attach(dir, kind, identity, imageRef, digest);
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
      break;
    }
    default:
      throw new Error('usage: sigstore.js trust DIR | sign DIR KIND IDENTITY FILE [TYPE] | attach DIR KIND IDENTITY HOST:PORT/REPO DIGEST');
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  if (err && err.cause) console.error('cause:', err.cause);
  process.exit(1);
});
