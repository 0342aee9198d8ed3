//! The Rust `oci-client` crate (plain HTTP) against arca: images, artifacts, referrers,
//! streamed chunked blob pushes, mounts and tag listing.

use std::collections::BTreeMap;

use arca_e2e::{Server, install_crypto_provider, media, random_bytes, sha256_digest};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{
    IMAGE_LAYER_GZIP_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

fn client(monolithic: bool) -> Client {
    install_crypto_provider();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        use_monolithic_push: monolithic,
        ..Default::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn reference(server: &Server, repo_tag: &str) -> Reference {
    format!("{}/{repo_tag}", server.host_port())
        .parse()
        .expect("reference")
}

#[test]
fn oci_client_pushes_and_pulls_image_byte_identical() {
    let server = Server::start();
    let rt = runtime();
    let layers = vec![
        ImageLayer::oci_v1_gzip(random_bytes(5 * 1024 * 1024 + 3), None), // > one 4 MiB chunk
        ImageLayer::oci_v1_gzip(random_bytes(64 * 1024), None),
        ImageLayer::oci_v1_gzip(random_bytes(1), None),
    ];
    let config = Config::oci_v1(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
        None,
    );
    let chunked = reference(&server, "rust/image:chunked");
    let monolithic = reference(&server, "rust/image:monolithic");

    let (pulled_chunked, pulled_mono, raw) = rt.block_on(async {
        // Default client: POST + PATCH chunks + PUT; the other: POST + one PUT.
        client(false)
            .push(
                &chunked,
                &layers,
                config.clone(),
                &RegistryAuth::Anonymous,
                None,
            )
            .await
            .expect("push (chunked)");
        client(true)
            .push(
                &monolithic,
                &layers,
                config.clone(),
                &RegistryAuth::Anonymous,
                None,
            )
            .await
            .expect("push (monolithic)");
        let puller = client(false);
        let a = puller
            .pull(
                &chunked,
                &RegistryAuth::Anonymous,
                vec![IMAGE_LAYER_GZIP_MEDIA_TYPE],
            )
            .await
            .expect("pull chunked");
        let b = puller
            .pull(
                &monolithic,
                &RegistryAuth::Anonymous,
                vec![IMAGE_LAYER_GZIP_MEDIA_TYPE],
            )
            .await
            .expect("pull monolithic");
        let raw = puller
            .pull_manifest_raw(&chunked, &RegistryAuth::Anonymous, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .expect("pull raw manifest");
        (a, b, raw)
    });

    for pulled in [&pulled_chunked, &pulled_mono] {
        // `Client::pull` returns layers in download-completion order, not manifest order:
        // match them up by content.
        assert_eq!(pulled.layers.len(), layers.len());
        for want in &layers {
            let got = pulled
                .layers
                .iter()
                .find(|l| l.sha256_digest() == want.sha256_digest())
                .unwrap_or_else(|| panic!("layer {} not pulled", want.sha256_digest()));
            assert!(got.data == want.data, "pulled layer differs");
            assert_eq!(got.media_type, want.media_type);
        }
        let manifest = pulled.manifest.as_ref().expect("pulled manifest");
        let order: Vec<&str> = manifest.layers.iter().map(|d| d.digest.as_str()).collect();
        let want: Vec<String> = layers.iter().map(|l| l.sha256_digest()).collect();
        assert_eq!(order, want, "manifest layer order");
        assert!(pulled.config.data == config.data, "pulled config differs");
    }
    let (raw_bytes, raw_digest) = raw;
    assert_eq!(sha256_digest(&raw_bytes), raw_digest);
    assert_eq!(pulled_chunked.digest.as_deref(), Some(raw_digest.as_str()));
    // Both pushes built the same manifest, so both tags name the same digest.
    assert_eq!(pulled_mono.digest, pulled_chunked.digest);

    let reg = server.registry();
    reg.assert_manifest("rust/image", "chunked", &raw_bytes);
    reg.assert_manifest("rust/image", "monolithic", &raw_bytes);
    for layer in &layers {
        reg.assert_blob("rust/image", &layer.data);
    }

    let tags = rt
        .block_on(client(false).list_tags(&chunked, &RegistryAuth::Anonymous, None, None))
        .expect("list tags");
    let mut names = tags.tags.clone();
    names.sort();
    assert_eq!(names, ["chunked", "monolithic"]);
    let page = rt
        .block_on(client(false).list_tags(&chunked, &RegistryAuth::Anonymous, Some(1), None))
        .expect("list tags n=1");
    assert_eq!(page.tags, ["chunked"]);
}

#[test]
fn oci_client_pushes_and_pulls_artifact_with_referrer() {
    let server = Server::start();
    let rt = runtime();
    const ARTIFACT_TYPE: &str = "application/vnd.arca.test.model.v1";
    const LAYER_TYPE: &str = "application/vnd.arca.test.model.layer.v1";
    const SIG_TYPE: &str = "application/vnd.arca.test.signature.v1";
    let payload = random_bytes(200_000);
    let layer = ImageLayer::new(
        payload.clone(),
        LAYER_TYPE.to_string(),
        Some(BTreeMap::from([(
            "org.opencontainers.image.title".to_string(),
            "model.bin".to_string(),
        )])),
    );
    let empty = Config::new(b"{}".to_vec(), media::OCI_EMPTY.to_string(), None);
    let mut manifest = OciImageManifest::build(
        std::slice::from_ref(&layer),
        &empty,
        Some(BTreeMap::from([(
            "com.example.purpose".to_string(),
            "e2e".to_string(),
        )])),
    );
    manifest.artifact_type = Some(ARTIFACT_TYPE.to_string());
    let artifact = reference(&server, "rust/artifact:v1");
    let sig_ref = reference(&server, "rust/artifact:sig");

    let (pulled, raw, referrers, filtered, sig_raw) = rt.block_on(async {
        let c = client(false);
        c.push(
            &artifact,
            std::slice::from_ref(&layer),
            empty.clone(),
            &RegistryAuth::Anonymous,
            Some(manifest.clone()),
        )
        .await
        .expect("push artifact");
        let pulled = c
            .pull(&artifact, &RegistryAuth::Anonymous, vec![LAYER_TYPE])
            .await
            .expect("pull artifact");
        let raw = c
            .pull_manifest_raw(&artifact, &RegistryAuth::Anonymous, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .expect("raw artifact manifest");

        // A signature-like referrer whose subject is the artifact.
        let sig_layer = ImageLayer::new(random_bytes(256), SIG_TYPE.to_string(), None);
        let mut sig = OciImageManifest::build(std::slice::from_ref(&sig_layer), &empty, None);
        sig.artifact_type = Some(SIG_TYPE.to_string());
        sig.subject = Some(OciDescriptor {
            media_type: OCI_IMAGE_MEDIA_TYPE.to_string(),
            digest: raw.1.clone(),
            size: raw.0.len() as i64,
            ..Default::default()
        });
        c.push(
            &sig_ref,
            std::slice::from_ref(&sig_layer),
            empty.clone(),
            &RegistryAuth::Anonymous,
            Some(sig),
        )
        .await
        .expect("push referrer");
        let sig_raw = c
            .pull_manifest_raw(&sig_ref, &RegistryAuth::Anonymous, &[OCI_IMAGE_MEDIA_TYPE])
            .await
            .expect("raw referrer");
        let by_digest: Reference = format!("{}/rust/artifact@{}", server.host_port(), raw.1)
            .parse()
            .expect("digest ref");
        let referrers = c.pull_referrers(&by_digest, None).await.expect("referrers");
        let filtered = c
            .pull_referrers(&by_digest, Some("application/vnd.arca.none"))
            .await
            .expect("filtered referrers");
        (pulled, raw, referrers, filtered, sig_raw)
    });

    assert_eq!(pulled.layers.len(), 1);
    assert!(
        pulled.layers[0].data.as_ref() == payload.as_slice(),
        "artifact bytes differ"
    );
    assert!(pulled.config.data.as_ref() == b"{}");
    let (raw_bytes, raw_digest) = raw;
    let parsed: arca_e2e::serde_json::Value =
        arca_e2e::serde_json::from_slice(&raw_bytes).expect("manifest JSON");
    assert_eq!(parsed["artifactType"], ARTIFACT_TYPE);
    assert_eq!(parsed["config"]["mediaType"], media::OCI_EMPTY);
    server
        .registry()
        .assert_manifest("rust/artifact", "v1", &raw_bytes);
    server.registry().assert_blob("rust/artifact", &payload);

    assert_eq!(referrers.manifests.len(), 1, "referrers: {referrers:?}");
    let entry = &referrers.manifests[0];
    assert_eq!(entry.digest, sig_raw.1);
    assert_eq!(entry.size, sig_raw.0.len() as i64);
    assert_eq!(entry.artifact_type.as_deref(), Some(SIG_TYPE));
    assert_eq!(entry.media_type, OCI_IMAGE_MEDIA_TYPE);
    assert!(
        filtered.manifests.is_empty(),
        "filter ignored: {filtered:?}"
    );
    let _ = raw_digest;
}

#[test]
fn oci_client_streams_chunked_blob_and_mounts_it() {
    let server = Server::start();
    let rt = runtime();
    let data = random_bytes(9 * 1024 * 1024 + 17);
    let digest = sha256_digest(&data);
    let src = reference(&server, "rust/stream:v1");
    let dst = reference(&server, "rust/mounted:v1");
    rt.block_on(async {
        let c = client(false);
        let pieces: Vec<oci_client::errors::Result<bytes::Bytes>> = data
            .chunks(1_000_003)
            .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
            .collect();
        c.push_blob_stream(&src, futures_util::stream::iter(pieces), &digest, None)
            .await
            .expect("push_blob_stream (chunked PATCHes, no fallback)");
        assert!(c.blob_exists(&src, &digest).await.expect("HEAD blob"));
        assert!(!c.blob_exists(&dst, &digest).await.expect("HEAD blob"));
        c.mount_blob(&dst, &src, &digest).await.expect("mount");
        assert!(c.blob_exists(&dst, &digest).await.expect("HEAD mounted"));
    });
    server.registry().assert_blob("rust/stream", &data);
    server.registry().assert_blob("rust/mounted", &data);
}
