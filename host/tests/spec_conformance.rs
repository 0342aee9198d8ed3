//! Conformance tests written from the OCI Distribution Specification v1.1
//! (`spec.md`), the OCI Image Specification's descriptor/manifest/index rules,
//! and the registry behaviour arca documents on top of them.
//!
//! Each test names the requirement it checks. Requests go through
//! `arca::api::router` with `tower::ServiceExt::oneshot`; no socket is opened.
//! Every response is also checked to be below 500 (see `common::Reg::send`).

mod common;

use common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// API version check (end-1)
// ---------------------------------------------------------------------------
mod base {
    use super::*;

    /// end-1 `GET /v2/` → 200 for a registry implementing the API.
    /// "When a `200 OK` or `401 Unauthorized` response is returned, the
    /// "Docker-Distribution-API-Version" header SHOULD be set to "registry/2.0"."
    #[tokio::test]
    async fn get_v2_is_200_with_api_version_header() {
        let reg = Reg::new().await;
        let r = reg.get("/v2/").await;
        r.expect(200);
        assert_eq!(
            r.header("docker-distribution-api-version").as_deref(),
            Some("registry/2.0"),
            "{}",
            r.dump()
        );
    }

    #[tokio::test]
    async fn head_v2_is_200() {
        let reg = Reg::new().await;
        reg.head("/v2/").await.expect(200);
    }
}

// ---------------------------------------------------------------------------
// Error format
// ---------------------------------------------------------------------------
mod errors {
    use super::*;

    /// "If the response body is in JSON format, it MUST have the following
    /// format: {"errors": [{"code": ..., "message": ..., "detail": ...}]}"
    /// "The `code` field MUST be one of the following: BLOB_UNKNOWN, ..."
    #[tokio::test]
    async fn error_codes_come_from_the_spec_table() {
        let reg = Reg::new().await;
        reg.push_image("repo", "latest", "x").await;
        let missing = sha256(b"nothing here");
        let cases = [
            reg.get(&format!("/v2/repo/blobs/{missing}")).await,
            reg.get(&format!("/v2/repo/manifests/{missing}")).await,
            reg.get("/v2/repo/manifests/nosuchtag").await,
            reg.get("/v2/nosuchrepo/tags/list").await,
            reg.get("/v2/repo/blobs/uploads/00000000-0000-4000-8000-000000000000")
                .await,
        ];
        for r in cases {
            r.expect(404);
            for code in r.error_codes() {
                assert!(
                    SPEC_ERROR_CODES.contains(&code.as_str()),
                    "{}: code {code} is not in the spec's table",
                    r.what
                );
            }
        }
    }

    /// The error body carries `code`, `message` and `detail` (arca promise),
    /// as JSON.
    #[tokio::test]
    async fn error_body_has_code_message_detail_and_json_content_type() {
        let reg = Reg::new().await;
        reg.push_image("repo", "latest", "x").await;
        let r = reg.get("/v2/repo/manifests/nosuchtag").await;
        r.expect_error(404, "MANIFEST_UNKNOWN");
        let ct = r.must_header("content-type");
        assert!(ct.starts_with("application/json"), "content-type {ct:?}");
        let v = r.json();
        let e = &v["errors"][0];
        assert!(e["code"].is_string(), "{v}");
        assert!(e["message"].is_string(), "{v}");
        assert!(e.get("detail").is_some(), "no detail field: {v}");
    }
}

// ---------------------------------------------------------------------------
// Pull: manifests
// ---------------------------------------------------------------------------
mod pull_manifests {
    use super::*;

    /// "A GET request to an existing manifest URL MUST provide the expected
    /// manifest, with a response code that MUST be `200 OK`."
    /// "A successful response SHOULD contain the digest of the uploaded blob in
    /// the header `Docker-Content-Digest`."
    #[tokio::test]
    async fn get_by_tag_returns_exact_bytes_type_and_digest() {
        let reg = Reg::new().await;
        let p = reg.push_image("library/app", "v1", "a").await;
        let r = reg.get("/v2/library/app/manifests/v1").await;
        r.expect(200);
        assert_eq!(&r.body[..], &p.body[..], "manifest bytes changed");
        assert_eq!(r.must_header("content-type"), OCI_MANIFEST);
        assert_eq!(r.must_header("docker-content-digest"), p.digest);
    }

    #[tokio::test]
    async fn get_by_digest_returns_exact_bytes() {
        let reg = Reg::new().await;
        let p = reg.push_image("library/app", "v1", "a").await;
        let r = reg
            .get(&format!("/v2/library/app/manifests/{}", p.digest))
            .await;
        r.expect(200);
        assert_eq!(&r.body[..], &p.body[..]);
        assert_eq!(r.must_header("content-type"), OCI_MANIFEST);
        assert_eq!(r.must_header("docker-content-digest"), p.digest);
        assert_eq!(sha256(&r.body), p.digest);
    }

    /// "The registry MUST store the manifest in the exact byte representation
    /// provided by the client." Odd whitespace and key order must survive.
    #[tokio::test]
    async fn manifest_bytes_are_stored_verbatim() {
        let reg = Reg::new().await;
        let (_, config) = reg.image_blobs("repo", "verbatim").await;
        let body = format!(
            "{{\n   \"schemaVersion\" : 2 ,\"config\":{config},\n\t\"layers\":[],   \"mediaType\":\"{OCI_MANIFEST}\",\"annotations\":{{\"z\":\"1\",\"a\":\"2\"}} }}\n\n"
        );
        let d = reg
            .put_manifest_ok("repo", "t", OCI_MANIFEST, body.as_bytes())
            .await;
        let r = reg.get("/v2/repo/manifests/t").await;
        r.expect(200);
        assert_eq!(r.text(), body);
        let r = reg.get(&format!("/v2/repo/manifests/{d}")).await;
        r.expect(200);
        assert_eq!(r.text(), body);
    }

    /// "A HEAD request to an existing blob or manifest URL MUST return
    /// `200 OK`." HEAD has no body; Content-Length is the manifest's size.
    #[tokio::test]
    async fn head_by_tag_and_digest() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        for reference in ["v1", p.digest.as_str()] {
            let r = reg.head(&format!("/v2/repo/manifests/{reference}")).await;
            r.expect(200);
            assert!(r.body.is_empty(), "HEAD returned a body");
            assert_eq!(r.must_header("content-length"), p.size.to_string());
            assert_eq!(r.must_header("docker-content-digest"), p.digest);
            assert_eq!(r.must_header("content-type"), OCI_MANIFEST);
        }
    }

    /// "If the manifest is not found in the repository, the response code
    /// MUST be `404 Not Found`." MANIFEST_UNKNOWN is the code for it.
    #[tokio::test]
    async fn missing_manifest_is_404_manifest_unknown() {
        let reg = Reg::new().await;
        reg.push_image("repo", "v1", "a").await;
        reg.get("/v2/repo/manifests/v2")
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
        reg.get(&format!("/v2/repo/manifests/{}", sha256(b"nope")))
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
        let r = reg.head("/v2/repo/manifests/v2").await;
        r.expect(404);
        assert!(r.body.is_empty());
        reg.head(&format!("/v2/repo/manifests/{}", sha256(b"nope")))
            .await
            .expect(404);
    }

    /// A manifest in an unknown repository is 404 (NAME_UNKNOWN or
    /// MANIFEST_UNKNOWN).
    #[tokio::test]
    async fn manifest_in_unknown_repo_is_404() {
        let reg = Reg::new().await;
        reg.get("/v2/nosuch/repo/manifests/latest")
            .await
            .expect_error_among(&[404], &["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]);
    }

    /// A manifest pushed to one repository is not visible from another.
    #[tokio::test]
    async fn manifests_are_scoped_to_their_repository() {
        let reg = Reg::new().await;
        let p = reg.push_image("one", "v1", "a").await;
        reg.push_image("two", "other", "b").await;
        reg.get("/v2/two/manifests/v1").await.expect(404);
        reg.get(&format!("/v2/two/manifests/{}", p.digest))
            .await
            .expect(404);
    }

    /// The client SHOULD send Accept; a matching Accept gets the manifest.
    #[tokio::test]
    async fn get_with_accept_list() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        let accept = format!("{DOCKER_MANIFEST}, {OCI_INDEX}, {OCI_MANIFEST}");
        let r = reg
            .get_h("/v2/repo/manifests/v1", &[("accept", &accept)])
            .await;
        r.expect(200);
        assert_eq!(&r.body[..], &p.body[..]);
    }

    /// Content addressed by digest gets a long-lived Cache-Control (arca).
    #[tokio::test]
    async fn manifest_by_digest_is_cacheable() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        let r = reg.get(&format!("/v2/repo/manifests/{}", p.digest)).await;
        r.expect(200);
        let cc = r.must_header("cache-control");
        assert!(cc.contains("max-age"), "cache-control {cc:?}");
        assert!(r.header("etag").is_some(), "no ETag: {}", r.dump());
    }

    /// A pushed tag can be overwritten; GET then returns the new manifest.
    #[tokio::test]
    async fn retagging_points_tag_at_new_manifest() {
        let reg = Reg::new().await;
        let a = reg.push_image("repo", "v1", "a").await;
        let b = reg.push_image("repo", "v1", "b").await;
        assert_ne!(a.digest, b.digest);
        let r = reg.get("/v2/repo/manifests/v1").await;
        r.expect(200);
        assert_eq!(r.must_header("docker-content-digest"), b.digest);
        // The old manifest is still there by digest.
        reg.get(&format!("/v2/repo/manifests/{}", a.digest))
            .await
            .expect(200);
    }
}

// ---------------------------------------------------------------------------
// Pull: blobs, HEAD, ranges
// ---------------------------------------------------------------------------
mod pull_blobs {
    use super::*;

    const DATA: &[u8] = b"0123456789abcdefghij"; // 20 bytes

    /// "A GET request to an existing blob URL MUST provide the expected blob,
    /// with a response code that MUST be `200 OK`." "If present, the value of
    /// this header [Docker-Content-Digest] MUST be a digest matching that of
    /// the response body."
    #[tokio::test]
    async fn get_blob_200_with_digest() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        r.expect(200);
        assert_eq!(&r.body[..], DATA);
        assert_eq!(r.must_header("docker-content-digest"), sha256(&r.body));
        assert_eq!(r.must_header("content-length"), "20");
    }

    /// HEAD: 200, exact Content-Length, no body, Docker-Content-Digest.
    #[tokio::test]
    async fn head_blob_exact_length_no_body() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg.head(&format!("/v2/repo/blobs/{d}")).await;
        r.expect(200);
        assert!(r.body.is_empty(), "HEAD returned a body");
        assert_eq!(r.must_header("content-length"), "20");
        assert_eq!(r.must_header("docker-content-digest"), d);
    }

    /// HEAD on a larger blob (more than one read buffer) still reports the
    /// exact length.
    #[tokio::test]
    async fn head_large_blob_exact_length() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let d = reg.push_blob("repo", &data).await;
        let r = reg.head(&format!("/v2/repo/blobs/{d}")).await;
        r.expect(200);
        assert_eq!(r.must_header("content-length"), "300000");
        let r = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        r.expect(200);
        assert_eq!(r.body.len(), 300_000);
        assert_eq!(sha256(&r.body), d);
    }

    /// "If the blob is not found in the repository, the response code MUST be
    /// `404 Not Found`." (BLOB_UNKNOWN)
    #[tokio::test]
    async fn missing_blob_is_404_blob_unknown() {
        let reg = Reg::new().await;
        reg.push_blob("repo", DATA).await;
        let missing = sha256(b"missing");
        reg.get(&format!("/v2/repo/blobs/{missing}"))
            .await
            .expect_error(404, "BLOB_UNKNOWN");
        let r = reg.head(&format!("/v2/repo/blobs/{missing}")).await;
        r.expect(404);
        assert!(r.body.is_empty());
    }

    /// Blob in an unknown repository → 404.
    #[tokio::test]
    async fn blob_in_unknown_repo_is_404() {
        let reg = Reg::new().await;
        reg.get(&format!("/v2/nosuch/blobs/{}", sha256(b"x")))
            .await
            .expect_error_among(&[404], &["BLOB_UNKNOWN", "NAME_UNKNOWN"]);
    }

    /// "If the blob is not found in the repository": a blob pushed to repo
    /// `one` is not served from repo `two` (which only exists with other
    /// content), otherwise cross-repository mount would be meaningless.
    #[tokio::test]
    async fn blobs_are_scoped_to_their_repository() {
        let reg = Reg::new().await;
        let d = reg.push_blob("one", DATA).await;
        reg.push_blob("two", b"other").await;
        reg.get(&format!("/v2/two/blobs/{d}")).await.expect(404);
        reg.head(&format!("/v2/two/blobs/{d}")).await.expect(404);
    }

    /// Long-lived caching headers for content addressed by digest (arca).
    #[tokio::test]
    async fn blob_has_etag_and_cache_control() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        r.expect(200);
        assert!(!r.must_header("etag").is_empty());
        let cc = r.must_header("cache-control");
        let max_age: u64 = cc
            .split(',')
            .filter_map(|p| p.trim().strip_prefix("max-age="))
            .next()
            .unwrap_or_else(|| panic!("no max-age in {cc:?}"))
            .parse()
            .unwrap();
        assert!(max_age >= 86_400, "max-age {max_age} is not long-lived");
    }

    /// "Registries SHOULD support the HTTP `Range:` request header": a range
    /// returns 206 with Content-Range and the slice.
    #[tokio::test]
    async fn range_first_bytes() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg
            .get_h(&format!("/v2/repo/blobs/{d}"), &[("range", "bytes=0-4")])
            .await;
        r.expect(206);
        assert_eq!(&r.body[..], b"01234");
        assert_eq!(r.must_header("content-range"), "bytes 0-4/20");
        assert_eq!(r.must_header("content-length"), "5");
    }

    #[tokio::test]
    async fn range_middle_open_ended_and_suffix() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let url = format!("/v2/repo/blobs/{d}");

        let r = reg.get_h(&url, &[("range", "bytes=5-9")]).await;
        r.expect(206);
        assert_eq!(&r.body[..], b"56789");
        assert_eq!(r.must_header("content-range"), "bytes 5-9/20");

        let r = reg.get_h(&url, &[("range", "bytes=15-")]).await;
        r.expect(206);
        assert_eq!(&r.body[..], b"fghij");
        assert_eq!(r.must_header("content-range"), "bytes 15-19/20");

        let r = reg.get_h(&url, &[("range", "bytes=-3")]).await;
        r.expect(206);
        assert_eq!(&r.body[..], b"hij");
        assert_eq!(r.must_header("content-range"), "bytes 17-19/20");

        // An end past the blob is clamped (RFC 9110 14.1.2).
        let r = reg.get_h(&url, &[("range", "bytes=18-100")]).await;
        r.expect(206);
        assert_eq!(&r.body[..], b"ij");
        assert_eq!(r.must_header("content-range"), "bytes 18-19/20");
    }

    /// Resumable pull: a client that has part of a blob fetches the rest.
    #[tokio::test]
    async fn range_resume_reassembles_blob() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let d = reg.push_blob("repo", &data).await;
        let url = format!("/v2/repo/blobs/{d}");
        let a = reg.get_h(&url, &[("range", "bytes=0-49999")]).await;
        a.expect(206);
        let b = reg.get_h(&url, &[("range", "bytes=50000-")]).await;
        b.expect(206);
        let mut all = a.body.to_vec();
        all.extend_from_slice(&b.body);
        assert_eq!(all, data);
    }

    /// Unsatisfiable range → 416 with `Content-Range: bytes */<len>`
    /// (RFC 9110 15.5.17 SHOULD; arca promises 416).
    #[tokio::test]
    async fn range_unsatisfiable_is_416() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg
            .get_h(&format!("/v2/repo/blobs/{d}"), &[("range", "bytes=20-30")])
            .await;
        r.expect(416);
        assert_eq!(r.must_header("content-range"), "bytes */20");
    }

    /// Malformed range → 416 (arca promise).
    #[tokio::test]
    async fn range_malformed_is_416() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        for bad in ["bytes=abc", "bytes=9-3", "bytes="] {
            let r = reg
                .get_h(&format!("/v2/repo/blobs/{d}"), &[("range", bad)])
                .await;
            assert_eq!(r.status.as_u16(), 416, "Range {bad:?}: {}", r.dump());
        }
    }

    /// HEAD with a Range is answered like GET without the body.
    #[tokio::test]
    async fn head_with_range() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", DATA).await;
        let r = reg
            .send(
                "HEAD",
                &format!("/v2/repo/blobs/{d}"),
                &[("range", "bytes=0-4")],
                B::Empty,
            )
            .await;
        r.expect_one_of(&[200, 206]);
        assert!(r.body.is_empty());
        if r.status.as_u16() == 206 {
            assert_eq!(r.must_header("content-range"), "bytes 0-4/20");
            assert_eq!(r.must_header("content-length"), "5");
        } else {
            assert_eq!(r.must_header("content-length"), "20");
        }
    }
}

// ---------------------------------------------------------------------------
// Push: monolithic blob uploads
// ---------------------------------------------------------------------------
mod push_blobs_monolithic {
    use super::*;

    /// "Upon success, the response MUST have a code of `202 Accepted`, and
    /// MUST include the following header: Location: <location>". "The
    /// `<location>` MUST contain a UUID representing a unique session ID".
    #[tokio::test]
    async fn post_starts_session_with_unique_location() {
        let reg = Reg::new().await;
        let a = reg.start_upload("repo").await;
        let b = reg.start_upload("repo").await;
        let (la, lb) = (a.location(), b.location());
        assert_ne!(la, lb, "two sessions share a location");
        for loc in [&la, &lb] {
            assert!(contains_uuid(loc), "Location {loc:?} contains no UUID");
        }
        let uuid = a.must_header("docker-upload-uuid");
        assert!(!uuid.is_empty());
        assert!(
            la.contains(&uuid),
            "Location {la:?} lacks the upload UUID {uuid:?}"
        );
    }

    /// POST then PUT: "Upon successful completion of the request, the response
    /// MUST have code `201 Created` and MUST have the following header:
    /// Location: <blob-location>" "With `<blob-location>` being a pullable
    /// blob URL."
    #[tokio::test]
    async fn post_then_put() {
        let reg = Reg::new().await;
        let data = b"post then put".to_vec();
        let digest = sha256(&data);
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(&digest))),
                &[("content-type", "application/octet-stream")],
                B::Bytes(data.clone()),
            )
            .await;
        r.expect(201);
        assert_eq!(r.must_header("docker-content-digest"), digest);
        let blob_loc = r.location();
        let g = reg.get(&blob_loc).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
        let g = reg.get(&format!("/v2/repo/blobs/{digest}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
    }

    /// The digest query parameter unencoded (`sha256:...` with a raw colon).
    #[tokio::test]
    async fn put_with_raw_colon_digest() {
        let reg = Reg::new().await;
        let data = b"raw colon".to_vec();
        let digest = sha256(&data);
        let loc = reg.start_upload("repo").await.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={digest}")),
            &[("content-type", "application/octet-stream")],
            B::Bytes(data),
        )
        .await
        .expect(201);
        reg.head(&format!("/v2/repo/blobs/{digest}"))
            .await
            .expect(200);
    }

    /// Single POST: "Successful completion of the request MUST return a
    /// `201 Created` and MUST include the following header: Location".
    #[tokio::test]
    async fn single_post_with_digest() {
        let reg = Reg::new().await;
        let data = b"single post".to_vec();
        let digest = sha256(&data);
        let r = reg
            .send(
                "POST",
                &format!("/v2/repo/blobs/uploads/?digest={}", qenc(&digest)),
                &[("content-type", "application/octet-stream")],
                B::Bytes(data.clone()),
            )
            .await;
        r.expect(201);
        assert_eq!(r.must_header("docker-content-digest"), digest);
        let g = reg.get(&r.location()).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
    }

    /// A zero-length blob is a blob too.
    #[tokio::test]
    async fn empty_blob() {
        let reg = Reg::new().await;
        let digest = reg.push_blob("repo", b"").await;
        assert_eq!(
            digest,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let r = reg.get(&format!("/v2/repo/blobs/{digest}")).await;
        r.expect(200);
        assert!(r.body.is_empty());
        let r = reg.head(&format!("/v2/repo/blobs/{digest}")).await;
        r.expect(200);
        assert_eq!(r.must_header("content-length"), "0");
    }

    /// Uploading a blob that already exists succeeds again (de-duplication
    /// use case).
    #[tokio::test]
    async fn pushing_existing_blob_again_is_fine() {
        let reg = Reg::new().await;
        let a = reg.push_blob("repo", b"dup").await;
        let b = reg.push_blob("repo", b"dup").await;
        assert_eq!(a, b);
        reg.get(&format!("/v2/repo/blobs/{a}")).await.expect(200);
    }

    /// DIGEST_INVALID: "When a blob is uploaded, the registry will check that
    /// the content matches the digest provided by the client."
    #[tokio::test]
    async fn put_with_wrong_digest_is_400_digest_invalid() {
        let reg = Reg::new().await;
        let wrong = sha256(b"something else");
        let loc = reg.start_upload("repo").await.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&wrong))),
            &[("content-type", "application/octet-stream")],
            B::Bytes(b"the real content".to_vec()),
        )
        .await
        .expect_error(400, "DIGEST_INVALID");
        reg.head(&format!("/v2/repo/blobs/{wrong}"))
            .await
            .expect(404);
        reg.head(&format!("/v2/repo/blobs/{}", sha256(b"the real content")))
            .await
            .expect(404);
    }

    #[tokio::test]
    async fn single_post_with_wrong_digest_is_400_digest_invalid() {
        let reg = Reg::new().await;
        let wrong = sha256(b"something else");
        reg.send(
            "POST",
            &format!("/v2/repo/blobs/uploads/?digest={}", qenc(&wrong)),
            &[("content-type", "application/octet-stream")],
            B::Bytes(b"the real content".to_vec()),
        )
        .await
        .expect_error(400, "DIGEST_INVALID");
        reg.head(&format!("/v2/repo/blobs/{wrong}"))
            .await
            .expect(404);
    }

    /// A malformed `digest` parameter on the closing PUT is a 400.
    #[tokio::test]
    async fn put_with_malformed_digest_is_400() {
        let reg = Reg::new().await;
        for bad in [
            "notadigest",
            "sha256:zz",
            "sha256:abc",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
        ] {
            let loc = reg.start_upload("repo").await.location();
            reg.send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(bad))),
                &[("content-type", "application/octet-stream")],
                B::Bytes(b"abc".to_vec()),
            )
            .await
            .expect_error_among(&[400], &["DIGEST_INVALID", "UNSUPPORTED"]);
        }
    }

    /// "The closing `PUT` request MUST include the `<digest>` of the whole
    /// blob (not the final chunk) as a query parameter." Without it → 400.
    #[tokio::test]
    async fn put_without_digest_is_400() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PUT",
                &loc,
                &[("content-type", "application/octet-stream")],
                B::Bytes(b"abc".to_vec()),
            )
            .await;
        r.expect_error_among(&[400], &["DIGEST_INVALID", "BLOB_UPLOAD_INVALID"]);
    }

    /// sha512 digests (image-spec registers sha512) work end to end (arca).
    #[tokio::test]
    async fn sha512_blob_post_put_and_single_post() {
        let reg = Reg::new().await;
        let data = b"sha512 content".to_vec();
        let d = sha512(&data);
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(&d))),
                &[("content-type", "application/octet-stream")],
                B::Bytes(data.clone()),
            )
            .await;
        r.expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
        assert_eq!(g.must_header("docker-content-digest"), d);
        let h = reg.head(&format!("/v2/repo/blobs/{d}")).await;
        h.expect(200);
        assert_eq!(h.must_header("content-length"), data.len().to_string());

        let data2 = b"sha512 single post".to_vec();
        let d2 = sha512(&data2);
        reg.send(
            "POST",
            &format!("/v2/repo/blobs/uploads/?digest={}", qenc(&d2)),
            &[("content-type", "application/octet-stream")],
            B::Bytes(data2.clone()),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d2}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data2[..]);
    }

    #[tokio::test]
    async fn sha512_wrong_digest_is_400() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&sha512(b"other")))),
            &[("content-type", "application/octet-stream")],
            B::Bytes(b"content".to_vec()),
        )
        .await
        .expect_error(400, "DIGEST_INVALID");
    }

    /// PUT with a streamed body and no Content-Length (arca promise).
    #[tokio::test]
    async fn put_streamed_body_without_content_length() {
        let reg = Reg::new().await;
        let chunks: Vec<Vec<u8>> = (0..5).map(|i| vec![b'a' + i; 10_000]).collect();
        let all: Vec<u8> = chunks.concat();
        let d = sha256(&all);
        let loc = reg.start_upload("repo").await.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d))),
            &[("content-type", "application/octet-stream")],
            B::Stream(chunks),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(g.body.len(), all.len());
        assert_eq!(sha256(&g.body), d);
    }

    /// A session is gone after it is closed: its URL is unknown.
    #[tokio::test]
    async fn session_is_gone_after_completion() {
        let reg = Reg::new().await;
        let data = b"finish".to_vec();
        let d = sha256(&data);
        let loc = reg.start_upload("repo").await.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d))),
            &[],
            B::Bytes(data),
        )
        .await
        .expect(201);
        reg.get(&loc).await.expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    }

    /// Pushing to a repository creates it: the blob is then pullable and the
    /// upload endpoints work for nested names.
    #[tokio::test]
    async fn nested_repository_names() {
        let reg = Reg::new().await;
        let d = reg.push_blob("a/b/c-d/e_f/g.h", b"nested").await;
        reg.get(&format!("/v2/a/b/c-d/e_f/g.h/blobs/{d}"))
            .await
            .expect(200);
    }
}

// ---------------------------------------------------------------------------
// Push: chunked uploads, status, cancel
// ---------------------------------------------------------------------------
mod push_blobs_chunked {
    use super::*;

    async fn patch(reg: &Reg, loc: &str, range: Option<&str>, data: &[u8]) -> Resp {
        let mut h = vec![("content-type", "application/octet-stream")];
        if let Some(r) = range {
            h.push(("content-range", r));
        }
        reg.send("PATCH", loc, &h, B::Bytes(data.to_vec())).await
    }

    /// "The response for each successful chunk upload MUST be `202 Accepted`,
    /// and MUST have the following headers: Location: <location>,
    /// Range: 0-<end-of-range>" ... "the session MUST be closed with a `PUT`
    /// request" → 201 + Location.
    #[tokio::test]
    async fn chunked_upload_with_content_range() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..30u8).collect();
        let d = sha256(&data);
        let loc = reg.start_upload("repo").await.location();

        let r = patch(&reg, &loc, Some("0-9"), &data[0..10]).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 9);
        let loc = r.location();
        assert!(r.header("docker-upload-uuid").is_some(), "{}", r.dump());

        let r = patch(&reg, &loc, Some("10-19"), &data[10..20]).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 19);
        let loc = r.location();

        let r = patch(&reg, &loc, Some("20-29"), &data[20..30]).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 29);
        let loc = r.location();

        let r = reg
            .send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(&d))),
                &[],
                B::Empty,
            )
            .await;
        r.expect(201);
        r.location();
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
    }

    /// "The final chunk MAY be uploaded using a `PATCH` request or it MAY be
    /// uploaded in the closing `PUT` request."
    #[tokio::test]
    async fn final_chunk_in_put() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..20u8).collect();
        let d = sha256(&data);
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-9"), &data[..10]).await;
        r.expect(202);
        let loc = r.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d))),
            &[
                ("content-type", "application/octet-stream"),
                ("content-range", "10-19"),
            ],
            B::Bytes(data[10..].to_vec()),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
    }

    /// The final chunk may come in the closing PUT without a Content-Range.
    #[tokio::test]
    async fn final_chunk_in_put_without_content_range() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-4"), b"01234").await;
        r.expect(202);
        let d = sha256(b"0123456789");
        reg.send(
            "PUT",
            &add_query(&r.location(), &format!("digest={}", qenc(&d))),
            &[("content-type", "application/octet-stream")],
            B::Bytes(b"56789".to_vec()),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"0123456789");
    }

    /// A PATCH without Content-Range after one with it appends.
    #[tokio::test]
    async fn mixed_ranged_and_streamed_patches() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-2"), b"abc").await;
        r.expect(202);
        let r = patch(&reg, &r.location(), None, b"def").await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 5);
        let r = patch(&reg, &r.location(), Some("6-7"), b"gh").await;
        r.expect(202);
        let d = sha256(b"abcdefgh");
        reg.send(
            "PUT",
            &add_query(&r.location(), &format!("digest={}", qenc(&d))),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        assert_eq!(&g.body[..], b"abcdefgh");
    }

    /// Streamed PATCH (no Content-Range) as in the conformance suite's
    /// "Blob Upload Streamed": 202, then PUT without body → 201.
    #[tokio::test]
    async fn streamed_patch_without_content_range() {
        let reg = Reg::new().await;
        let data = vec![7u8; 5000];
        let d = sha256(&data);
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, None, &data).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 4999);
        let loc = r.location();
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d))),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        reg.head(&format!("/v2/repo/blobs/{d}")).await.expect(200);
    }

    /// PATCH with chunked transfer encoding and no Content-Length (arca).
    #[tokio::test]
    async fn patch_without_content_length() {
        let reg = Reg::new().await;
        let chunks: Vec<Vec<u8>> = vec![vec![1; 1000], vec![2; 3000], vec![3; 17]];
        let all = chunks.concat();
        let d = sha256(&all);
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PATCH",
                &loc,
                &[("content-type", "application/octet-stream")],
                B::Stream(chunks),
            )
            .await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), all.len() as u64 - 1);
        let loc = r.location();
        // A second streamed PATCH appends.
        let r = reg
            .send(
                "PATCH",
                &loc,
                &[("content-type", "application/octet-stream")],
                B::Stream(vec![vec![4; 10]]),
            )
            .await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), all.len() as u64 + 9);
        let mut full = all.clone();
        full.extend_from_slice(&[4; 10]);
        let d2 = sha256(&full);
        assert_ne!(d, d2);
        reg.send(
            "PUT",
            &add_query(&r.location(), &format!("digest={}", qenc(&d2))),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d2}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &full[..]);
    }

    /// "The first chunk's range MUST begin with `0`." "If a chunk is uploaded
    /// out of order, the registry MUST respond with a `416 Requested Range Not
    /// Satisfiable` code."
    #[tokio::test]
    async fn first_chunk_not_at_zero_is_416() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("10-19"), &[0u8; 10]).await;
        r.expect(416);
    }

    /// Out-of-order (gap) chunk → 416 with the current `Range` (arca), and the
    /// session stays usable.
    #[tokio::test]
    async fn gap_chunk_is_416_and_session_survives() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..30u8).collect();
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-9"), &data[..10]).await;
        r.expect(202);
        let loc = r.location();
        let r = patch(&reg, &loc, Some("20-29"), &data[20..]).await;
        r.expect(416);
        assert_eq!(
            r.upload_range_end(),
            9,
            "416 should report the current range"
        );
        // GET status gives the resume point.
        let s = reg.get(&loc).await;
        s.expect(204);
        assert_eq!(s.upload_range_end(), 9);
        let loc = s.location();
        let r = patch(&reg, &loc, Some("10-29"), &data[10..]).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 29);
        let d = sha256(&data);
        reg.send(
            "PUT",
            &add_query(&r.location(), &format!("digest={}", qenc(&d))),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        assert_eq!(&g.body[..], &data[..]);
    }

    /// Overlapping chunk (re-sending bytes already received) → 416 with the
    /// current Range (arca).
    #[tokio::test]
    async fn overlapping_chunk_is_416() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..30u8).collect();
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-9"), &data[..10]).await;
        r.expect(202);
        let loc = r.location();
        let r = patch(&reg, &loc, Some("5-14"), &data[5..15]).await;
        r.expect(416);
        assert_eq!(r.upload_range_end(), 9);
        // The upload was not corrupted by the rejected chunk.
        let s = reg.get(&loc).await;
        s.expect(204);
        assert_eq!(s.upload_range_end(), 9);
    }

    /// A Content-Range whose length differs from the body is rejected.
    #[tokio::test]
    async fn content_range_not_matching_body_is_rejected() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-99"), &[0u8; 10]).await;
        r.expect_one_of(&[400, 416]);
    }

    /// "To get the current status after a 416 error, issue a `GET` request to
    /// a URL `<location>`". "The response to an active upload `<location>`
    /// MUST be a `204 No Content` response code, and MUST have the following
    /// headers: Location: <location>, Range: 0-<end-of-range>".
    #[tokio::test]
    async fn upload_status_get_is_204_with_range_and_location() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-99"), &[9u8; 100]).await;
        r.expect(202);
        let loc = r.location();
        let s = reg.get(&loc).await;
        s.expect(204);
        assert!(s.body.is_empty());
        assert_eq!(s.upload_range_end(), 99);
        let sloc = s.location();
        assert!(!sloc.is_empty());
        assert!(s.header("docker-upload-uuid").is_some(), "{}", s.dump());
        // The location from the status response continues the upload.
        let r = patch(&reg, &sloc, Some("100-104"), &[8u8; 5]).await;
        r.expect(202);
        assert_eq!(r.upload_range_end(), 104);
    }

    /// Status of a fresh session (no bytes yet) is still 204 with Location
    /// and a Range header.
    #[tokio::test]
    async fn upload_status_of_empty_session() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let s = reg.get(&loc).await;
        s.expect(204);
        s.location();
        s.must_header("range");
    }

    /// Unknown upload session → 404 BLOB_UPLOAD_UNKNOWN for GET, PATCH, PUT.
    #[tokio::test]
    async fn unknown_session_is_404_blob_upload_unknown() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"make repo exist").await;
        let url = "/v2/repo/blobs/uploads/3f0a6c1e-5b1d-4c1e-9c3e-2f6a1b2c3d4e";
        reg.get(url).await.expect_error(404, "BLOB_UPLOAD_UNKNOWN");
        patch(&reg, url, Some("0-2"), b"abc")
            .await
            .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
        reg.send(
            "PUT",
            &format!("{url}?digest={}", qenc(&sha256(b"abc"))),
            &[],
            B::Bytes(b"abc".to_vec()),
        )
        .await
        .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    }

    /// A session id that is not even a UUID is 404 (or 400), never 500.
    #[tokio::test]
    async fn garbage_session_id() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"make repo exist").await;
        for id in ["not-a-uuid", "..", "%2e%2e", "x%2Fy"] {
            reg.get(&format!("/v2/repo/blobs/uploads/{id}"))
                .await
                .expect_one_of(&[400, 404]);
        }
    }

    /// A session belongs to its repository.
    #[tokio::test]
    async fn session_is_scoped_to_its_repository() {
        let reg = Reg::new().await;
        reg.push_blob("other", b"make other exist").await;
        let loc = reg.start_upload("repo").await.location();
        let other = loc.replacen("/v2/repo/", "/v2/other/", 1);
        assert_ne!(loc, other, "unexpected location shape {loc}");
        reg.get(&other).await.expect(404);
    }

    /// "During a blob upload, the session may be canceled with a `DELETE`
    /// request" "If successful, the response SHOULD be a `204 No Content`".
    /// Afterwards the session is unknown.
    #[tokio::test]
    async fn delete_cancels_upload() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-2"), b"abc").await;
        r.expect(202);
        let loc = r.location();
        reg.delete(&loc).await.expect(204);
        reg.get(&loc).await.expect_error(404, "BLOB_UPLOAD_UNKNOWN");
        patch(&reg, &loc, Some("3-5"), b"def")
            .await
            .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&sha256(b"abc")))),
            &[],
            B::Empty,
        )
        .await
        .expect(404);
        reg.head(&format!("/v2/repo/blobs/{}", sha256(b"abc")))
            .await
            .expect(404);
    }

    /// Closing a chunked upload with the wrong digest → 400 DIGEST_INVALID.
    #[tokio::test]
    async fn chunked_close_with_wrong_digest() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = patch(&reg, &loc, Some("0-2"), b"abc").await;
        r.expect(202);
        reg.send(
            "PUT",
            &add_query(&r.location(), &format!("digest={}", qenc(&sha256(b"abd")))),
            &[],
            B::Empty,
        )
        .await
        .expect_error(400, "DIGEST_INVALID");
        reg.head(&format!("/v2/repo/blobs/{}", sha256(b"abc")))
            .await
            .expect(404);
    }

    /// Two sessions for the same repo do not interfere.
    #[tokio::test]
    async fn concurrent_sessions_are_independent() {
        let reg = Reg::new().await;
        let la = reg.start_upload("repo").await.location();
        let lb = reg.start_upload("repo").await.location();
        let ra = patch(&reg, &la, Some("0-2"), b"aaa").await;
        ra.expect(202);
        let rb = patch(&reg, &lb, Some("0-3"), b"bbbb").await;
        rb.expect(202);
        let ra2 = patch(&reg, &ra.location(), Some("3-5"), b"AAA").await;
        ra2.expect(202);
        for (loc, content) in [
            (rb.location(), &b"bbbb"[..]),
            (ra2.location(), &b"aaaAAA"[..]),
        ] {
            let d = sha256(content);
            reg.send(
                "PUT",
                &add_query(&loc, &format!("digest={}", qenc(&d))),
                &[],
                B::Empty,
            )
            .await
            .expect(201);
            let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
            assert_eq!(&g.body[..], content);
        }
    }
}

// ---------------------------------------------------------------------------
// Push: cross-repository mount
// ---------------------------------------------------------------------------
mod mount {
    use super::*;

    /// "The response to a successful mount MUST be `201 Created`, and MUST
    /// contain the following header: Location: <blob-location>"
    #[tokio::test]
    async fn mount_from_repo_that_has_blob_is_201() {
        let reg = Reg::new().await;
        let d = reg.push_blob("src/repo", b"mount me").await;
        let r = reg
            .send(
                "POST",
                &format!(
                    "/v2/dst/repo/blobs/uploads/?mount={}&from={}",
                    qenc(&d),
                    qenc("src/repo")
                ),
                &[],
                B::Empty,
            )
            .await;
        r.expect(201);
        assert_eq!(r.must_header("docker-content-digest"), d);
        let g = reg.get(&r.location()).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"mount me");
        let g = reg.get(&format!("/v2/dst/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"mount me");
    }

    /// "if a registry does not support cross-repository mounting or is unable
    /// to mount the requested blob, it SHOULD return a `202`. This indicates
    /// that the upload session has begun".
    #[tokio::test]
    async fn mount_from_repo_without_blob_is_202_session() {
        let reg = Reg::new().await;
        reg.push_blob("src", b"something else").await;
        let data = b"not in src".to_vec();
        let d = sha256(&data);
        let r = reg
            .send(
                "POST",
                &format!("/v2/dst/blobs/uploads/?mount={}&from=src", qenc(&d)),
                &[],
                B::Empty,
            )
            .await;
        r.expect(202);
        let loc = r.location();
        // The session is usable.
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d))),
            &[],
            B::Bytes(data.clone()),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/dst/blobs/{d}")).await;
        assert_eq!(&g.body[..], &data[..]);
    }

    /// The blob exists in the registry, but not in `from`: no mount.
    #[tokio::test]
    async fn mount_requires_blob_in_from_repo() {
        let reg = Reg::new().await;
        let d = reg.push_blob("holder", b"held").await;
        reg.push_blob("src", b"src content").await;
        let r = reg
            .send(
                "POST",
                &format!("/v2/dst/blobs/uploads/?mount={}&from=src", qenc(&d)),
                &[],
                B::Empty,
            )
            .await;
        // A registry MAY cross-mount anything it can find; but if it answers
        // 201 the blob must then really be in dst.
        r.expect_one_of(&[201, 202]);
        if r.status.as_u16() == 201 {
            reg.get(&format!("/v2/dst/blobs/{d}")).await.expect(200);
        } else {
            r.location();
        }
    }

    #[tokio::test]
    async fn mount_from_unknown_repo_is_202() {
        let reg = Reg::new().await;
        let r = reg
            .send(
                "POST",
                &format!(
                    "/v2/dst/blobs/uploads/?mount={}&from=nowhere",
                    qenc(&sha256(b"x"))
                ),
                &[],
                B::Empty,
            )
            .await;
        r.expect(202);
        r.location();
    }

    /// A mount with a malformed digest does not crash; it is 400 or a plain
    /// session.
    #[tokio::test]
    async fn mount_with_malformed_digest() {
        let reg = Reg::new().await;
        reg.push_blob("src", b"x").await;
        let r = reg
            .send(
                "POST",
                "/v2/dst/blobs/uploads/?mount=garbage&from=src",
                &[],
                B::Empty,
            )
            .await;
        r.expect_one_of(&[202, 400]);
    }
}

// ---------------------------------------------------------------------------
// Push: manifests
// ---------------------------------------------------------------------------
mod push_manifests {
    use super::*;

    /// "Upon a successful upload, the registry MUST return response code
    /// `201 Created`, and MUST have the following header: Location:
    /// <location>" "The `Docker-Content-Digest` header ... MUST match the
    /// digest" of the uploaded manifest.
    #[tokio::test]
    async fn put_by_tag_is_201_with_location_and_digest() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let r = reg.put_manifest("repo", "v1", OCI_MANIFEST, &body).await;
        r.expect(201);
        assert_eq!(r.must_header("docker-content-digest"), sha256(&body));
        let g = reg.get(&r.location()).await;
        g.expect(200);
        assert_eq!(&g.body[..], &body[..]);
    }

    /// "`<reference>` MUST be either (a) the digest of the manifest or (b) a
    /// tag name."
    #[tokio::test]
    async fn put_by_digest() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let d = sha256(&body);
        let r = reg.put_manifest("repo", &d, OCI_MANIFEST, &body).await;
        r.expect(201);
        assert_eq!(r.must_header("docker-content-digest"), d);
        reg.get(&r.location()).await.expect(200);
        let g = reg.get(&format!("/v2/repo/manifests/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &body[..]);
        // Pushing by digest creates no tag.
        let t = reg.get("/v2/repo/tags/list").await;
        t.expect(200);
        let tags = t.json()["tags"].clone();
        assert!(
            tags.is_null() || tags.as_array().unwrap().is_empty(),
            "push by digest created tags: {tags}"
        );
    }

    /// PUT by a digest that is not the body's digest → 400 (arca;
    /// DIGEST_INVALID: "When a manifest is uploaded, if the manifest fails
    /// verification against the digest provided by the client").
    #[tokio::test]
    async fn put_by_mismatched_digest_is_400() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let wrong = sha256(b"not the manifest");
        reg.put_manifest("repo", &wrong, OCI_MANIFEST, &body)
            .await
            .expect_error_among(&[400], &["DIGEST_INVALID", "MANIFEST_INVALID"]);
        reg.get(&format!("/v2/repo/manifests/{wrong}"))
            .await
            .expect(404);
    }

    /// Manifest addressed by a sha512 digest.
    #[tokio::test]
    async fn put_and_get_by_sha512_digest() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let d = sha512(&body);
        reg.put_manifest("repo", &d, OCI_MANIFEST, &body)
            .await
            .expect(201);
        let g = reg.get(&format!("/v2/repo/manifests/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], &body[..]);
    }

    /// "a registry MAY reject a manifest ... that reference blobs or
    /// manifests that do not exist ... When a manifest is rejected for this
    /// reason, the registry MUST return one or more `MANIFEST_BLOB_UNKNOWN`
    /// errors." arca rejects missing config and layers.
    #[tokio::test]
    async fn missing_config_is_manifest_blob_unknown() {
        let reg = Reg::new().await;
        let ld = reg.push_blob("repo", b"layer").await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &sha256(b"no such config"), 14),
            "layers": [desc(OCI_LAYER, &ld, 5)],
        });
        reg.put_manifest("repo", "v1", OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
            .await
            .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
        reg.get("/v2/repo/manifests/v1").await.expect(404);
    }

    #[tokio::test]
    async fn missing_layer_is_manifest_blob_unknown() {
        let reg = Reg::new().await;
        let cd = reg.push_blob("repo", b"{}").await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &cd, 2),
            "layers": [desc(OCI_LAYER, &sha256(b"no such layer"), 13)],
        });
        reg.put_manifest("repo", "v1", OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
            .await
            .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    }

    /// A blob that exists only in another repository does not satisfy a
    /// manifest's reference.
    #[tokio::test]
    async fn layer_in_other_repo_does_not_count() {
        let reg = Reg::new().await;
        let ld = reg.push_blob("other", b"layer elsewhere").await;
        let cd = reg.push_blob("repo", b"{}").await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &cd, 2),
            "layers": [desc(OCI_LAYER, &ld, 15)],
        });
        reg.put_manifest("repo", "v1", OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
            .await
            .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    }

    /// Non-distributable layers need not be in the registry (image-spec:
    /// "Implementations SHOULD NOT upload layers tagged with this media
    /// type").
    #[tokio::test]
    async fn nondistributable_layer_need_not_exist() {
        let reg = Reg::new().await;
        let cd = reg.push_blob("repo", b"{}").await;
        let ld = reg.push_blob("repo", b"real layer").await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &cd, 2),
            "layers": [
                {"mediaType": OCI_LAYER_NONDIST, "digest": sha256(b"windows base"), "size": 12,
                 "urls": ["https://example.invalid/base.tar.gz"]},
                desc(OCI_LAYER, &ld, 10),
            ],
        });
        reg.put_manifest_ok("repo", "v1", OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
            .await;
    }

    /// OCI image index: referenced manifests must exist (arca).
    #[tokio::test]
    async fn index_with_existing_children() {
        let reg = Reg::new().await;
        let a = reg.push_image("repo", "amd64", "a").await;
        let b = reg.push_image("repo", "arm64", "b").await;
        let idx = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": a.digest, "size": a.size,
                 "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": OCI_MANIFEST, "digest": b.digest, "size": b.size,
                 "platform": {"architecture": "arm64", "os": "linux"}},
            ],
        });
        let body = serde_json::to_vec(&idx).unwrap();
        let d = reg.put_manifest_ok("repo", "multi", OCI_INDEX, &body).await;
        let g = reg.get("/v2/repo/manifests/multi").await;
        g.expect(200);
        assert_eq!(g.must_header("content-type"), OCI_INDEX);
        assert_eq!(g.must_header("docker-content-digest"), d);
        assert_eq!(&g.body[..], &body[..]);
    }

    #[tokio::test]
    async fn index_with_missing_child_is_rejected() {
        let reg = Reg::new().await;
        let a = reg.push_image("repo", "amd64", "a").await;
        let idx = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": a.digest, "size": a.size},
                {"mediaType": OCI_MANIFEST, "digest": sha256(b"ghost"), "size": 5},
            ],
        });
        reg.put_manifest(
            "repo",
            "multi",
            OCI_INDEX,
            &serde_json::to_vec(&idx).unwrap(),
        )
        .await
        .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    }

    /// An index may nest indexes.
    #[tokio::test]
    async fn nested_index() {
        let reg = Reg::new().await;
        let a = reg.push_image("repo", "a", "a").await;
        let inner = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": a.digest, "size": a.size}]});
        let ib = serde_json::to_vec(&inner).unwrap();
        let id = reg.put_manifest_ok("repo", "inner", OCI_INDEX, &ib).await;
        let outer = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": id, "size": ib.len()}]});
        reg.put_manifest_ok(
            "repo",
            "outer",
            OCI_INDEX,
            &serde_json::to_vec(&outer).unwrap(),
        )
        .await;
    }

    /// Docker Image Manifest V2 Schema 2.
    #[tokio::test]
    async fn docker_schema2_manifest() {
        let reg = Reg::new().await;
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let cd = reg.push_blob("repo", config).await;
        let ld = reg.push_blob("repo", b"docker layer").await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": desc(DOCKER_CONFIG, &cd, config.len()),
            "layers": [desc(DOCKER_LAYER, &ld, 12)],
        });
        let body = serde_json::to_vec(&m).unwrap();
        let d = reg
            .put_manifest_ok("repo", "docker", DOCKER_MANIFEST, &body)
            .await;
        for reference in ["docker", d.as_str()] {
            let g = reg.get(&format!("/v2/repo/manifests/{reference}")).await;
            g.expect(200);
            assert_eq!(g.must_header("content-type"), DOCKER_MANIFEST);
            assert_eq!(&g.body[..], &body[..]);
        }
    }

    /// Docker foreign layers need not exist.
    #[tokio::test]
    async fn docker_foreign_layer_need_not_exist() {
        let reg = Reg::new().await;
        let config = br#"{"architecture":"amd64","os":"windows"}"#;
        let cd = reg.push_blob("repo", config).await;
        let m = json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": desc(DOCKER_CONFIG, &cd, config.len()),
            "layers": [{"mediaType": DOCKER_FOREIGN_LAYER, "digest": sha256(b"foreign"), "size": 7,
                        "urls": ["https://example.invalid/foreign.tar.gz"]}],
        });
        reg.put_manifest_ok(
            "repo",
            "win",
            DOCKER_MANIFEST,
            &serde_json::to_vec(&m).unwrap(),
        )
        .await;
    }

    /// Docker manifest list.
    #[tokio::test]
    async fn docker_manifest_list() {
        let reg = Reg::new().await;
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let cd = reg.push_blob("repo", config).await;
        let ld = reg.push_blob("repo", b"docker layer").await;
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": desc(DOCKER_CONFIG, &cd, config.len()),
            "layers": [desc(DOCKER_LAYER, &ld, 12)],
        }))
        .unwrap();
        let md = reg
            .put_manifest_ok("repo", "amd64", DOCKER_MANIFEST, &m)
            .await;
        let list = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": md, "size": m.len(),
                           "platform": {"architecture": "amd64", "os": "linux"}}],
        }))
        .unwrap();
        reg.put_manifest_ok("repo", "list", DOCKER_LIST, &list)
            .await;
        let g = reg.get("/v2/repo/manifests/list").await;
        g.expect(200);
        assert_eq!(g.must_header("content-type"), DOCKER_LIST);
        assert_eq!(&g.body[..], &list[..]);
    }

    /// "If a manifest includes a `mediaType` field, clients MUST set the
    /// `Content-Type` header to the value specified by the `mediaType` field."
    /// arca rejects a mismatch with MANIFEST_INVALID.
    #[tokio::test]
    async fn content_type_must_match_media_type() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        reg.put_manifest("repo", "v1", OCI_INDEX, &body)
            .await
            .expect_error(400, "MANIFEST_INVALID");
        reg.put_manifest("repo", "v1", DOCKER_MANIFEST, &body)
            .await
            .expect_error(400, "MANIFEST_INVALID");
        reg.get("/v2/repo/manifests/v1").await.expect(404);
    }

    /// "Registries SHOULD ignore any parameters" on Content-Type.
    #[tokio::test]
    async fn content_type_parameters_are_ignored() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        reg.put_manifest(
            "repo",
            "v1",
            &format!("{OCI_MANIFEST}; charset=utf-8"),
            &body,
        )
        .await
        .expect(201);
        let g = reg.get("/v2/repo/manifests/v1").await;
        g.expect(200);
        assert_eq!(g.must_header("content-type"), OCI_MANIFEST);
    }

    /// A manifest without `mediaType` is taken by its Content-Type (arca).
    #[tokio::test]
    async fn manifest_without_media_type_uses_content_type() {
        let reg = Reg::new().await;
        let (_, config) = reg.image_blobs("repo", "a").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "config": config,
            "layers": [],
        }))
        .unwrap();
        let d = reg.put_manifest_ok("repo", "v1", OCI_MANIFEST, &body).await;
        for reference in ["v1", d.as_str()] {
            let g = reg.get(&format!("/v2/repo/manifests/{reference}")).await;
            g.expect(200);
            assert_eq!(g.must_header("content-type"), OCI_MANIFEST);
        }
        let h = reg.head("/v2/repo/manifests/v1").await;
        assert_eq!(h.must_header("content-type"), OCI_MANIFEST);
    }

    /// Body that is not JSON, or not a manifest → 400 MANIFEST_INVALID.
    #[tokio::test]
    async fn invalid_manifest_is_400_manifest_invalid() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"x").await;
        for body in [
            &b"not json"[..],
            &b"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[]"[..],
            &b"[]"[..],
            &b"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":\"nope\",\"layers\":[]}"[..],
            &b""[..],
        ] {
            reg.put_manifest("repo", "v1", OCI_MANIFEST, body)
                .await
                .expect_error(400, "MANIFEST_INVALID");
        }
        // A descriptor digest that is not a digest.
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": "sha256:xyz", "size": 2},
            "layers": [],
        }))
        .unwrap();
        reg.put_manifest("repo", "v1", OCI_MANIFEST, &body)
            .await
            .expect_error_among(&[400], &["MANIFEST_INVALID", "DIGEST_INVALID"]);
    }

    /// "A registry MUST accept an otherwise valid manifest with a `subject`
    /// field that references a manifest that does not exist in the
    /// repository." "When processing a request for an image manifest with the
    /// `subject` field, a registry implementation that supports the referrers
    /// API MUST respond with the response header `OCI-Subject: <subject
    /// digest>`".
    #[tokio::test]
    async fn subject_that_does_not_exist_is_accepted_with_oci_subject() {
        let reg = Reg::new().await;
        let empty = reg.push_empty_json("repo").await;
        let subject = sha256(b"subject that was never pushed");
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sig",
            "config": empty,
            "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1234},
        }))
        .unwrap();
        let d = sha256(&body);
        let r = reg.put_manifest("repo", &d, OCI_MANIFEST, &body).await;
        r.expect(201);
        assert_eq!(r.must_header("oci-subject"), subject);
    }

    #[tokio::test]
    async fn subject_that_exists_gets_oci_subject() {
        let reg = Reg::new().await;
        let img = reg.push_image("repo", "v1", "a").await;
        let empty = reg.push_empty_json("repo").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.example.sbom", "digest": EMPTY_JSON_DIGEST, "size": 2},
            "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size},
        }))
        .unwrap();
        let r = reg.put_manifest("repo", "sbom", OCI_MANIFEST, &body).await;
        r.expect(201);
        assert_eq!(r.must_header("oci-subject"), img.digest);
    }

    /// An index with a subject also gets OCI-Subject.
    #[tokio::test]
    async fn index_with_subject_gets_oci_subject() {
        let reg = Reg::new().await;
        let img = reg.push_image("repo", "v1", "a").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size},
        }))
        .unwrap();
        let r = reg
            .put_manifest("repo", &sha256(&body), OCI_INDEX, &body)
            .await;
        r.expect(201);
        assert_eq!(r.must_header("oci-subject"), img.digest);
    }

    /// No subject → no OCI-Subject header.
    #[tokio::test]
    async fn no_subject_no_oci_subject_header() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let r = reg.put_manifest("repo", "v1", OCI_MANIFEST, &body).await;
        r.expect(201);
        assert!(r.header("oci-subject").is_none(), "{}", r.dump());
    }

    fn padded_manifest(config: &Value, total: usize) -> Vec<u8> {
        let skeleton = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [],
            "annotations": {"pad": ""},
        }))
        .unwrap();
        assert!(total > skeleton.len());
        let pad = "x".repeat(total - skeleton.len());
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [],
            "annotations": {"pad": pad},
        }))
        .unwrap();
        assert_eq!(body.len(), total);
        body
    }

    /// "Clients and registries SHOULD support manifests at least 4 megabytes
    /// in size" (arca: 4 MiB accepted by default).
    #[tokio::test]
    async fn four_mib_manifest_is_accepted() {
        let reg = Reg::new().await;
        let (_, config) = reg.image_blobs("repo", "a").await;
        let body = padded_manifest(&config, 4 * 1024 * 1024);
        let d = reg
            .put_manifest_ok("repo", "big", OCI_MANIFEST, &body)
            .await;
        let g = reg.get(&format!("/v2/repo/manifests/{d}")).await;
        g.expect(200);
        assert_eq!(g.body.len(), body.len());
    }

    /// "If a registry ... [has] a maximum manifest size ... it SHOULD respond
    /// with `413 Payload Too Large`."
    #[tokio::test]
    async fn manifest_above_default_limit_is_413() {
        let reg = Reg::new().await;
        let (_, config) = reg.image_blobs("repo", "a").await;
        let body = padded_manifest(&config, 4 * 1024 * 1024 + 1);
        reg.put_manifest("repo", "big", OCI_MANIFEST, &body)
            .await
            .expect(413);
        reg.get("/v2/repo/manifests/big").await.expect(404);
    }

    #[tokio::test]
    async fn manifest_above_configured_limit_is_413() {
        let reg = Reg::with_config(|c| c.limits.max_manifest_bytes = 2048).await;
        let (_, config) = reg.image_blobs("repo", "a").await;
        reg.put_manifest_ok("repo", "ok", OCI_MANIFEST, &padded_manifest(&config, 2048))
            .await;
        reg.put_manifest("repo", "big", OCI_MANIFEST, &padded_manifest(&config, 2049))
            .await
            .expect(413);
        // Streamed without Content-Length: the limit still holds.
        let body = padded_manifest(&config, 10_000);
        let chunks: Vec<Vec<u8>> = body.chunks(1000).map(|c| c.to_vec()).collect();
        reg.send(
            "PUT",
            "/v2/repo/manifests/big",
            &[("content-type", OCI_MANIFEST)],
            B::Stream(chunks),
        )
        .await
        .expect(413);
        reg.get("/v2/repo/manifests/big").await.expect(404);
    }

    /// Tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`: valid tags are
    /// accepted.
    #[tokio::test]
    async fn valid_tags() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let long = format!("a{}", "b".repeat(127));
        for tag in [
            "latest",
            "_under",
            "UPPER.case-1_2",
            "1.0",
            "0",
            long.as_str(),
            "a..b",
            "x--",
        ] {
            let r = reg.put_manifest("repo", tag, OCI_MANIFEST, &body).await;
            assert_eq!(r.status.as_u16(), 201, "tag {tag:?}: {}", r.dump());
            reg.get(&format!("/v2/repo/manifests/{tag}"))
                .await
                .expect(200);
        }
    }

    /// "The `<reference>` MUST NOT be in any other format."
    #[tokio::test]
    async fn invalid_tags_are_rejected() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "a").await;
        let too_long = format!("a{}", "b".repeat(128));
        for tag in [
            ".dot",
            "-dash",
            "a%2Fb",
            "a:b",
            "a+b",
            "a%20b",
            too_long.as_str(),
            "t%C3%A9",
        ] {
            let r = reg.put_manifest("repo", tag, OCI_MANIFEST, &body).await;
            assert!(
                matches!(r.status.as_u16(), 400 | 404),
                "tag {tag:?} accepted: {}",
                r.dump()
            );
        }
        let t = reg.get("/v2/repo/tags/list").await;
        if t.status.as_u16() == 200 {
            let tags = t.json()["tags"].clone();
            assert!(
                tags.is_null() || tags.as_array().unwrap().is_empty(),
                "invalid tag got stored: {tags}"
            );
        }
    }

    /// Pushing a manifest to a new repository creates it (so its tags list
    /// works) under a nested name.
    #[tokio::test]
    async fn manifest_to_nested_repository() {
        let reg = Reg::new().await;
        reg.push_image("org/team/app", "v1", "a").await;
        let t = reg.get("/v2/org/team/app/tags/list").await;
        t.expect(200);
        assert_eq!(t.json()["name"], "org/team/app");
        assert_eq!(t.json()["tags"], json!(["v1"]));
    }
}

// ---------------------------------------------------------------------------
// Content discovery: tags
// ---------------------------------------------------------------------------
mod tags {
    use super::*;

    async fn with_tags(tags: &[&str]) -> Reg {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "t").await;
        for t in tags {
            reg.put_manifest_ok("repo", t, OCI_MANIFEST, &body).await;
        }
        reg
    }

    fn tags_of(r: &Resp) -> Vec<String> {
        let v = r.json();
        match &v["tags"] {
            Value::Null => vec![],
            Value::Array(a) => a.iter().map(|t| t.as_str().unwrap().to_string()).collect(),
            other => panic!("tags is {other}"),
        }
    }

    /// "the registry MUST return a `200 OK`" with `{"name": "<name>", "tags":
    /// [...]}`; "If the list is not empty, the tags MUST be in lexical order
    /// (i.e. case-insensitive alphanumeric order)" / ASCIIbetical.
    #[tokio::test]
    async fn list_is_sorted() {
        let input = ["v2", "latest", "v10", "1.0", "v1", "alpha", "Beta"];
        let reg = with_tags(&input).await;
        let r = reg.get("/v2/repo/tags/list").await;
        r.expect(200);
        assert_eq!(r.json()["name"], "repo");
        let got = tags_of(&r);
        let mut ascii: Vec<String> = input.iter().map(|s| s.to_string()).collect();
        ascii.sort();
        let mut ci = ascii.clone();
        ci.sort_by_key(|s| s.to_lowercase());
        assert!(got == ascii || got == ci, "not in lexical order: {got:?}");
        assert!(r.header("link").is_none(), "Link without n: {}", r.dump());
    }

    /// "`<int>` is the number of results" ... "the response MUST include up
    /// to `<int>` tags"; with more remaining a `Link: <url>; rel="next"`
    /// header (arca).
    #[tokio::test]
    async fn n_limits_and_link_paginates() {
        let input = ["a", "b", "c", "d", "e"];
        let reg = with_tags(&input).await;
        let r = reg.get("/v2/repo/tags/list?n=2").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["a", "b"]);
        let next = r.next_link().expect("no Link header with more tags left");
        assert!(next.starts_with("/v2/repo/tags/list"), "Link {next}");
        let r = reg.get(&next).await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["c", "d"]);
        let next = r.next_link().expect("no Link on second page");
        let r = reg.get(&next).await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["e"]);
        assert!(r.next_link().is_none(), "Link on last page");
    }

    /// n equal to the number of tags: all of them and no further page that
    /// would be wrong.
    #[tokio::test]
    async fn n_equal_to_count() {
        let reg = with_tags(&["a", "b"]).await;
        let r = reg.get("/v2/repo/tags/list?n=2").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["a", "b"]);
        if let Some(next) = r.next_link() {
            assert!(tags_of(&reg.get(&next).await).is_empty());
        }
        let r = reg.get("/v2/repo/tags/list?n=100").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["a", "b"]);
        assert!(r.next_link().is_none());
    }

    /// "`last` ... the response MUST include up to `<int>` tags, where `<int>`
    /// ... lexically after `<tagname>`". The last tag itself is excluded.
    #[tokio::test]
    async fn last_starts_after_tag() {
        let reg = with_tags(&["a", "b", "c", "d", "e"]).await;
        let r = reg.get("/v2/repo/tags/list?n=2&last=b").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["c", "d"]);
        // `n` is optional with `last`.
        let r = reg.get("/v2/repo/tags/list?last=c").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["d", "e"]);
        // `last` need not be an existing tag.
        let r = reg.get("/v2/repo/tags/list?last=bb").await;
        r.expect(200);
        assert_eq!(tags_of(&r), ["c", "d", "e"]);
        let r = reg.get("/v2/repo/tags/list?last=e").await;
        r.expect(200);
        assert!(tags_of(&r).is_empty());
    }

    /// n=0: an empty list and no Link.
    #[tokio::test]
    async fn n_zero_is_empty() {
        let reg = with_tags(&["a", "b"]).await;
        let r = reg.get("/v2/repo/tags/list?n=0").await;
        r.expect(200);
        assert!(tags_of(&r).is_empty());
        assert!(r.header("link").is_none());
    }

    /// A malformed n is a client error, not a crash.
    #[tokio::test]
    async fn malformed_n() {
        let reg = with_tags(&["a"]).await;
        for q in ["n=abc", "n=-1", "n=99999999999999999999999"] {
            let r = reg.get(&format!("/v2/repo/tags/list?{q}")).await;
            r.expect_one_of(&[200, 400]);
        }
    }

    /// Tags of a repository that does not exist: 404 NAME_UNKNOWN (arca).
    #[tokio::test]
    async fn unknown_repo_is_404_name_unknown() {
        let reg = Reg::new().await;
        reg.get("/v2/nosuch/tags/list")
            .await
            .expect_error(404, "NAME_UNKNOWN");
    }

    /// A repository with only blobs has an empty (but 200) tags list, or is
    /// still unknown as a manifest repository; never a 5xx.
    #[tokio::test]
    async fn repo_with_only_blobs() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"x").await;
        let r = reg.get("/v2/repo/tags/list").await;
        r.expect_one_of(&[200, 404]);
        if r.status.as_u16() == 200 {
            assert!(tags_of(&r).is_empty());
        }
    }

    /// Tags appear once even when pushed twice.
    #[tokio::test]
    async fn tags_are_unique() {
        let reg = with_tags(&["a", "a", "b"]).await;
        let r = reg.get("/v2/repo/tags/list").await;
        assert_eq!(tags_of(&r), ["a", "b"]);
    }

    /// Tags of other repositories do not leak, including a repository whose
    /// name is a path prefix.
    #[tokio::test]
    async fn tags_are_per_repository() {
        let reg = Reg::new().await;
        reg.push_image("app", "one", "a").await;
        reg.push_image("app/sub", "two", "b").await;
        assert_eq!(tags_of(&reg.get("/v2/app/tags/list").await), ["one"]);
        assert_eq!(tags_of(&reg.get("/v2/app/sub/tags/list").await), ["two"]);
    }
}

// ---------------------------------------------------------------------------
// Catalog (arca; outside the spec's MUSTs)
// ---------------------------------------------------------------------------
mod catalog {
    use super::*;

    fn repos_of(r: &Resp) -> Vec<String> {
        r.json()["repositories"]
            .as_array()
            .unwrap_or_else(|| panic!("no repositories array: {}", r.dump()))
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn catalog_lists_sorted_and_paginates() {
        let reg = Reg::new().await;
        for name in ["zeta", "alpha", "mid/one", "mid/two", "beta"] {
            reg.push_image(name, "v1", name).await;
        }
        let r = reg.get("/v2/_catalog").await;
        r.expect(200);
        assert_eq!(
            repos_of(&r),
            ["alpha", "beta", "mid/one", "mid/two", "zeta"]
        );

        let r = reg.get("/v2/_catalog?n=2").await;
        r.expect(200);
        assert_eq!(repos_of(&r), ["alpha", "beta"]);
        let next = r.next_link().expect("no Link on catalog page");
        let r = reg.get(&next).await;
        assert_eq!(repos_of(&r), ["mid/one", "mid/two"]);
        let next = r.next_link().expect("no Link on catalog page 2");
        let r = reg.get(&next).await;
        assert_eq!(repos_of(&r), ["zeta"]);
        assert!(r.next_link().is_none());

        let r = reg.get("/v2/_catalog?last=beta").await;
        assert_eq!(repos_of(&r), ["mid/one", "mid/two", "zeta"]);
    }

    #[tokio::test]
    async fn empty_catalog() {
        let reg = Reg::new().await;
        let r = reg.get("/v2/_catalog").await;
        r.expect(200);
        assert!(repos_of(&r).is_empty());
    }
}

// ---------------------------------------------------------------------------
// Content discovery: referrers
// ---------------------------------------------------------------------------
mod referrers {
    use super::*;

    const TYPE_A: &str = "application/vnd.example.sbom.v1";
    const TYPE_B: &str = "application/vnd.example.sig+json";

    struct Setup {
        reg: Reg,
        subject: Pushed,
        /// artifactType set explicitly, config is the empty descriptor.
        a_explicit: String,
        /// no artifactType; config.mediaType = TYPE_B.
        b_config: String,
        /// an index referrer without artifactType.
        idx: String,
        idx_size: usize,
    }

    async fn setup() -> Setup {
        let reg = Reg::new().await;
        let subject = reg.push_image("repo", "v1", "subject").await;
        let empty = reg.push_empty_json("repo").await;
        let sdesc =
            json!({"mediaType": OCI_MANIFEST, "digest": subject.digest, "size": subject.size});

        let a = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": TYPE_A,
            "config": empty, "layers": [empty],
            "subject": sdesc,
            "annotations": {"org.example.kind": "sbom", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
        }))
        .unwrap();
        let a_explicit = reg
            .put_manifest_ok("repo", &sha256(&a), OCI_MANIFEST, &a)
            .await;

        let b = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": TYPE_B, "digest": EMPTY_JSON_DIGEST, "size": 2},
            "layers": [empty],
            "subject": sdesc,
            "annotations": {"org.example.kind": "sig"},
        }))
        .unwrap();
        let b_config = reg
            .put_manifest_ok("repo", &sha256(&b), OCI_MANIFEST, &b)
            .await;

        let i = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [],
            "subject": sdesc,
            "annotations": {"org.example.kind": "index"},
        }))
        .unwrap();
        let idx = reg
            .put_manifest_ok("repo", &sha256(&i), OCI_INDEX, &i)
            .await;

        Setup {
            reg,
            subject,
            a_explicit,
            b_config,
            idx,
            idx_size: i.len(),
        }
    }

    fn manifests(r: &Resp) -> Vec<Value> {
        r.json()["manifests"]
            .as_array()
            .unwrap_or_else(|| panic!("no manifests array: {}", r.dump()))
            .clone()
    }

    #[track_caller]
    fn assert_index_response(r: &Resp) {
        r.expect(200);
        assert_eq!(r.must_header("content-type"), OCI_INDEX);
        let v = r.json();
        assert_eq!(v["schemaVersion"], 2, "{v}");
        assert_eq!(v["mediaType"], OCI_INDEX, "{v}");
        assert!(v["manifests"].is_array(), "{v}");
    }

    /// "the response MUST be an image index ... The `manifests` ... MUST
    /// include descriptors for all manifests with a `subject` relationship to
    /// the digest." "The descriptors MUST include an `artifactType` field
    /// that is set to the value of the `artifactType` in the image manifest
    /// or index, if present. If the `artifactType` is empty or missing in
    /// the image manifest, the value of `artifactType` MUST be set to the
    /// config descriptor `mediaType` value. If the `artifactType` is empty or
    /// missing in an index, the `artifactType` MUST be omitted. The
    /// descriptors MUST include annotations from the image manifest or index."
    #[tokio::test]
    async fn lists_all_referrers_with_artifact_type_and_annotations() {
        let s = setup().await;
        let r = s
            .reg
            .get(&format!("/v2/repo/referrers/{}", s.subject.digest))
            .await;
        assert_index_response(&r);
        let ms = manifests(&r);
        assert_eq!(ms.len(), 3, "{ms:?}");
        let by = |d: &str| -> Value {
            ms.iter()
                .find(|m| m["digest"] == d)
                .unwrap_or_else(|| panic!("referrer {d} missing from {ms:?}"))
                .clone()
        };
        let a = by(&s.a_explicit);
        assert_eq!(a["mediaType"], OCI_MANIFEST);
        assert_eq!(a["artifactType"], TYPE_A);
        assert_eq!(a["annotations"]["org.example.kind"], "sbom");
        assert_eq!(
            a["annotations"]["org.opencontainers.image.created"],
            "2024-01-01T00:00:00Z"
        );
        assert!(a["size"].as_u64().unwrap() > 0);

        let b = by(&s.b_config);
        assert_eq!(b["mediaType"], OCI_MANIFEST);
        assert_eq!(b["artifactType"], TYPE_B, "falls back to config.mediaType");
        assert_eq!(b["annotations"]["org.example.kind"], "sig");

        let i = by(&s.idx);
        assert_eq!(i["mediaType"], OCI_INDEX);
        assert!(
            i.get("artifactType").is_none(),
            "index without artifactType: {i}"
        );
        assert_eq!(i["annotations"]["org.example.kind"], "index");
        assert_eq!(i["size"].as_u64().unwrap(), s.idx_size as u64);
    }

    /// Descriptor sizes are the referrer manifests' byte sizes.
    #[tokio::test]
    async fn descriptor_sizes_are_exact() {
        let s = setup().await;
        let r = s
            .reg
            .get(&format!("/v2/repo/referrers/{}", s.subject.digest))
            .await;
        for m in manifests(&r) {
            let d = m["digest"].as_str().unwrap();
            let g = s.reg.get(&format!("/v2/repo/manifests/{d}")).await;
            g.expect(200);
            assert_eq!(m["size"].as_u64().unwrap(), g.body.len() as u64, "{m}");
        }
    }

    /// "If the registry supports the referrers API, the registry MUST NOT
    /// return a `404 Not Found` to a referrers API requests." No referrers →
    /// an empty `manifests` list.
    #[tokio::test]
    async fn no_referrers_is_empty_index() {
        let s = setup().await;
        for target in [s.a_explicit.clone(), sha256(b"unknown subject")] {
            let r = s.reg.get(&format!("/v2/repo/referrers/{target}")).await;
            assert_index_response(&r);
            assert!(manifests(&r).is_empty());
        }
    }

    /// Never 404, even for a repository that does not exist (arca).
    #[tokio::test]
    async fn unknown_repo_is_empty_index() {
        let reg = Reg::new().await;
        let r = reg
            .get(&format!("/v2/no/such/repo/referrers/{}", sha256(b"x")))
            .await;
        assert_index_response(&r);
        assert!(manifests(&r).is_empty());
    }

    /// Referrers pushed before their subject are listed once the subject is
    /// queried.
    #[tokio::test]
    async fn referrer_pushed_before_subject() {
        let reg = Reg::new().await;
        let empty = reg.push_empty_json("repo").await;
        let (subject_body, _) = reg.image_blobs("repo", "later").await;
        let sd = sha256(&subject_body);
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": TYPE_A,
            "config": empty, "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": sd, "size": subject_body.len()},
        }))
        .unwrap();
        let rd = reg
            .put_manifest_ok("repo", &sha256(&body), OCI_MANIFEST, &body)
            .await;
        let r = reg.get(&format!("/v2/repo/referrers/{sd}")).await;
        assert_index_response(&r);
        assert_eq!(manifests(&r).len(), 1);
        assert_eq!(manifests(&r)[0]["digest"], rd.as_str());
        reg.put_manifest_ok("repo", "v1", OCI_MANIFEST, &subject_body)
            .await;
        let r = reg.get(&format!("/v2/repo/referrers/{sd}")).await;
        assert_eq!(manifests(&r).len(), 1);
    }

    /// "If the request is invalid, such as a `<digest>` with invalid syntax,
    /// a `400 Bad Request` MUST be returned."
    #[tokio::test]
    async fn invalid_digest_is_400() {
        let s = setup().await;
        for bad in ["notadigest", "sha256:zzzz", "sha256:abc", "latest"] {
            let r = s.reg.get(&format!("/v2/repo/referrers/{bad}")).await;
            assert_eq!(r.status.as_u16(), 400, "referrers/{bad}: {}", r.dump());
        }
    }

    /// "Registries SHOULD implement `artifactType` filtering" ... "the
    /// response MUST include an `OCI-Filters-Applied: artifactType` header"
    /// when the filter was applied.
    #[tokio::test]
    async fn artifact_type_filter() {
        let s = setup().await;
        let url = format!(
            "/v2/repo/referrers/{}?artifactType={}",
            s.subject.digest,
            qenc(TYPE_B)
        );
        let r = s.reg.get(&url).await;
        assert_index_response(&r);
        assert_eq!(r.must_header("oci-filters-applied"), "artifactType");
        let ms = manifests(&r);
        assert_eq!(ms.len(), 1, "{ms:?}");
        assert_eq!(ms[0]["digest"], s.b_config.as_str());
        assert_eq!(ms[0]["artifactType"], TYPE_B);

        let url = format!(
            "/v2/repo/referrers/{}?artifactType={}",
            s.subject.digest,
            qenc(TYPE_A)
        );
        let ms = manifests(&s.reg.get(&url).await);
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0]["digest"], s.a_explicit.as_str());

        let url = format!(
            "/v2/repo/referrers/{}?artifactType={}",
            s.subject.digest,
            qenc("application/vnd.nothing")
        );
        let r = s.reg.get(&url).await;
        assert_index_response(&r);
        assert_eq!(r.must_header("oci-filters-applied"), "artifactType");
        assert!(manifests(&r).is_empty());
    }

    /// Without a filter there is no OCI-Filters-Applied header.
    #[tokio::test]
    async fn no_filter_no_header() {
        let s = setup().await;
        let r = s
            .reg
            .get(&format!("/v2/repo/referrers/{}", s.subject.digest))
            .await;
        r.expect(200);
        assert!(r.header("oci-filters-applied").is_none());
    }

    /// A deleted referrer no longer appears.
    #[tokio::test]
    async fn deleted_referrer_disappears() {
        let s = setup().await;
        s.reg
            .delete(&format!("/v2/repo/manifests/{}", s.a_explicit))
            .await
            .expect(202);
        let r = s
            .reg
            .get(&format!("/v2/repo/referrers/{}", s.subject.digest))
            .await;
        let ms = manifests(&r);
        assert_eq!(ms.len(), 2);
        assert!(ms.iter().all(|m| m["digest"] != s.a_explicit.as_str()));
    }

    /// Referrers are per repository.
    #[tokio::test]
    async fn referrers_are_per_repository() {
        let s = setup().await;
        let r = s
            .reg
            .get(&format!("/v2/other/referrers/{}", s.subject.digest))
            .await;
        assert_index_response(&r);
        assert!(manifests(&r).is_empty());
    }

    /// Referrers of a subject addressed by a sha512 digest.
    #[tokio::test]
    async fn sha512_subject() {
        let reg = Reg::new().await;
        let empty = reg.push_empty_json("repo").await;
        let subject = sha512(b"some subject");
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": TYPE_A,
            "config": empty, "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 12},
        }))
        .unwrap();
        let r = reg
            .put_manifest("repo", &sha256(&body), OCI_MANIFEST, &body)
            .await;
        r.expect(201);
        assert_eq!(r.must_header("oci-subject"), subject);
        let r = reg.get(&format!("/v2/repo/referrers/{subject}")).await;
        assert_index_response(&r);
        assert_eq!(manifests(&r).len(), 1);
    }
}

// ---------------------------------------------------------------------------
// Content management: deletes
// ---------------------------------------------------------------------------
mod delete {
    use super::*;

    /// "To delete a manifest ... Upon success, the registry MUST respond with
    /// a `202 Accepted` code." "Once deleted, a `GET` to
    /// `/v2/<name>/manifests/<digest>` and any tag pointing to that digest
    /// will return a 404."
    #[tokio::test]
    async fn delete_manifest_by_digest() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        reg.delete(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect(202);
        reg.get(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
        reg.head(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect(404);
        reg.get("/v2/repo/manifests/v1").await.expect(404);
        let t = reg.get("/v2/repo/tags/list").await;
        if t.status.as_u16() == 200 {
            let tags = t.json()["tags"].clone();
            assert!(
                tags.is_null() || !tags.as_array().unwrap().contains(&json!("v1")),
                "tag of deleted manifest still listed: {tags}"
            );
        }
    }

    /// "To delete a tag ... Upon success, the registry MUST respond with a
    /// `202 Accepted` code." "Once deleted, a `GET` to
    /// `/v2/<name>/manifests/<tag>` will return a 404." The manifest itself
    /// stays (arca: untag only).
    #[tokio::test]
    async fn delete_tag_untags_only() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        reg.put_manifest_ok("repo", "v2", OCI_MANIFEST, &p.body)
            .await;
        reg.delete("/v2/repo/manifests/v1").await.expect(202);
        reg.get("/v2/repo/manifests/v1")
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
        reg.get(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect(200);
        reg.get("/v2/repo/manifests/v2").await.expect(200);
        let t = reg.get("/v2/repo/tags/list").await;
        t.expect(200);
        assert_eq!(t.json()["tags"], json!(["v2"]));
    }

    #[tokio::test]
    async fn delete_unknown_manifest_is_404() {
        let reg = Reg::new().await;
        reg.push_image("repo", "v1", "a").await;
        reg.delete(&format!("/v2/repo/manifests/{}", sha256(b"nope")))
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
        reg.delete("/v2/repo/manifests/nosuchtag")
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
    }

    /// "If the repository does not exist, the response MUST return
    /// `404 Not Found`."
    #[tokio::test]
    async fn delete_manifest_in_unknown_repo_is_404() {
        let reg = Reg::new().await;
        reg.delete(&format!("/v2/nosuch/manifests/{}", sha256(b"nope")))
            .await
            .expect_error_among(&[404], &["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]);
    }

    /// A deleted manifest can be pushed again.
    #[tokio::test]
    async fn repush_after_delete() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        reg.delete(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect(202);
        reg.put_manifest_ok("repo", "v1", OCI_MANIFEST, &p.body)
            .await;
        let g = reg.get("/v2/repo/manifests/v1").await;
        g.expect(200);
        assert_eq!(&g.body[..], &p.body[..]);
    }

    /// Deleting a manifest in one repository leaves the same manifest in
    /// another repository alone.
    #[tokio::test]
    async fn delete_is_per_repository() {
        let reg = Reg::new().await;
        let p = reg.push_image("one", "v1", "same").await;
        let q = reg.push_image("two", "v1", "same").await;
        assert_eq!(p.digest, q.digest);
        reg.delete(&format!("/v2/one/manifests/{}", p.digest))
            .await
            .expect(202);
        reg.get(&format!("/v2/two/manifests/{}", p.digest))
            .await
            .expect(200);
        reg.get("/v2/two/manifests/v1").await.expect(200);
    }

    /// "To delete a blob ... Upon success, the registry MUST respond with code
    /// `202 Accepted`. If the blob is not found, a `404 Not Found` code MUST
    /// be returned."
    #[tokio::test]
    async fn delete_blob() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", b"to delete").await;
        reg.delete(&format!("/v2/repo/blobs/{d}")).await.expect(202);
        reg.get(&format!("/v2/repo/blobs/{d}"))
            .await
            .expect_error(404, "BLOB_UNKNOWN");
        reg.head(&format!("/v2/repo/blobs/{d}")).await.expect(404);
        reg.delete(&format!("/v2/repo/blobs/{d}"))
            .await
            .expect_error(404, "BLOB_UNKNOWN");
    }

    #[tokio::test]
    async fn delete_unknown_blob_is_404() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"x").await;
        reg.delete(&format!("/v2/repo/blobs/{}", sha256(b"never")))
            .await
            .expect_error(404, "BLOB_UNKNOWN");
    }

    /// Deleting a blob from one repository leaves it in another.
    #[tokio::test]
    async fn delete_blob_is_per_repository() {
        let reg = Reg::new().await;
        let d = reg.push_blob("one", b"shared").await;
        reg.push_blob("two", b"shared").await;
        reg.delete(&format!("/v2/one/blobs/{d}")).await.expect(202);
        reg.get(&format!("/v2/two/blobs/{d}")).await.expect(200);
        reg.get(&format!("/v2/one/blobs/{d}")).await.expect(404);
    }

    /// A blob deleted and re-uploaded is served again.
    #[tokio::test]
    async fn reupload_after_blob_delete() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", b"again").await;
        reg.delete(&format!("/v2/repo/blobs/{d}")).await.expect(202);
        reg.push_blob("repo", b"again").await;
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"again");
    }
}

// ---------------------------------------------------------------------------
// Names, references and digests: malformed input is 400/404, never 500
// ---------------------------------------------------------------------------
mod names_and_digests {
    use super::*;

    /// "`<name>` MUST match the following regular expression:
    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`"
    /// Invalid names → 400 NAME_INVALID or 404.
    #[tokio::test]
    async fn invalid_names_are_rejected() {
        let reg = Reg::new().await;
        let names = [
            "UPPER",
            "-lead",
            "trail-",
            "a..b",
            "a/",
            "a//b",
            "a/.b",
            "a/-b",
            "a___b",
            "a.-b",
            "a-.b",
            "a._b",
            "a_-b",
            "a__.b",
            "a%20b",
            "caf%C3%A9",
        ];
        let mut failures = vec![];
        for name in names {
            for (method, path) in [
                ("GET", format!("/v2/{name}/tags/list")),
                ("GET", format!("/v2/{name}/manifests/latest")),
                ("GET", format!("/v2/{name}/blobs/{}", sha256(b"x"))),
                ("POST", format!("/v2/{name}/blobs/uploads/")),
            ] {
                let r = reg.send(method, &path, &[], B::Empty).await;
                if !matches!(r.status.as_u16(), 400 | 404) {
                    failures.push(format!("{method} {path}: {}", r.dump()));
                } else if r.status.as_u16() == 400 && !r.body.is_empty() {
                    let codes = r.error_codes();
                    if !codes.iter().any(|c| c == "NAME_INVALID") {
                        failures.push(format!("{method} {path}: codes {codes:?}"));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "invalid names accepted:\n{}",
            failures.join("\n")
        );
    }

    /// A very long (but grammatical) name is either served or refused with
    /// 400/404; never a server error.
    #[tokio::test]
    async fn very_long_name_never_500() {
        let reg = Reg::new().await;
        let name = format!("{}/x", "a".repeat(1000));
        let r = reg
            .send("POST", &format!("/v2/{name}/blobs/uploads/"), &[], B::Empty)
            .await;
        r.expect_one_of(&[202, 400, 404]);
        reg.get(&format!("/v2/{name}/tags/list"))
            .await
            .expect_one_of(&[400, 404]);
    }

    /// An upload to an invalid name never starts a session.
    #[tokio::test]
    async fn upload_to_invalid_name_is_400_name_invalid() {
        let reg = Reg::new().await;
        let r = reg
            .send("POST", "/v2/Bad_Name/blobs/uploads/", &[], B::Empty)
            .await;
        r.expect_error_among(&[400, 404], &["NAME_INVALID"]);
    }

    /// Valid names of the grammar work (separators `.`, `_`, `__`, `-+`).
    #[tokio::test]
    async fn valid_names_work() {
        let reg = Reg::new().await;
        for name in [
            "a",
            "a.b",
            "a_b",
            "a__b",
            "a---b",
            "0/1/2/3/4",
            "x.y-z__w/v_u",
        ] {
            let d = reg.push_blob(name, b"x").await;
            reg.get(&format!("/v2/{name}/blobs/{d}")).await.expect(200);
        }
    }

    /// Malformed digests on blob, manifest and referrers paths: 400 or 404,
    /// never 500 (arca promise; DIGEST_INVALID where 400).
    #[tokio::test]
    async fn malformed_digests_never_500() {
        let reg = Reg::new().await;
        reg.push_image("repo", "v1", "a").await;
        let bad: Vec<String> = vec![
            "sha256:".into(),
            "sha256:zz".into(),
            "sha256:abc".into(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}0", "a".repeat(64)),
            format!("sha512:{}", "a".repeat(64)),
            "md5:d41d8cd98f00b204e9800998ecf8427e".into(),
            ":abc".into(),
            "sha256%3Aabc".into(),
            "%00".into(),
            format!("SHA256:{}", "a".repeat(64)),
        ];
        for d in &bad {
            for (method, path) in [
                ("GET", format!("/v2/repo/blobs/{d}")),
                ("HEAD", format!("/v2/repo/blobs/{d}")),
                ("DELETE", format!("/v2/repo/blobs/{d}")),
                ("GET", format!("/v2/repo/manifests/{d}")),
                ("HEAD", format!("/v2/repo/manifests/{d}")),
                ("DELETE", format!("/v2/repo/manifests/{d}")),
            ] {
                let r = reg.send(method, &path, &[], B::Empty).await;
                assert!(
                    matches!(r.status.as_u16(), 400 | 404),
                    "{method} {path}: {}",
                    r.dump()
                );
            }
            // Malformed digest as a manifest PUT reference.
            let r = reg.put_manifest("repo", d, OCI_MANIFEST, b"{}").await;
            assert!(
                matches!(r.status.as_u16(), 400 | 404),
                "PUT manifests/{d}: {}",
                r.dump()
            );
        }
    }

    /// A blob path with a tag instead of a digest is not a blob.
    #[tokio::test]
    async fn blob_by_tag_is_not_found_or_invalid() {
        let reg = Reg::new().await;
        reg.push_image("repo", "v1", "a").await;
        reg.get("/v2/repo/blobs/v1")
            .await
            .expect_one_of(&[400, 404]);
    }

    /// Unknown digest algorithm on upload.
    #[tokio::test]
    async fn unknown_algorithm_on_upload() {
        let reg = Reg::new().await;
        let r = reg
            .send(
                "POST",
                &format!(
                    "/v2/repo/blobs/uploads/?digest={}",
                    qenc("foo:0123456789abcdef")
                ),
                &[],
                B::Bytes(b"abc".to_vec()),
            )
            .await;
        r.expect_error_among(&[400], &["DIGEST_INVALID", "UNSUPPORTED"]);
    }

    /// Unknown endpoints under /v2/ are 404 (or 405), not 500.
    #[tokio::test]
    async fn unknown_endpoints() {
        let reg = Reg::new().await;
        for (m, p) in [
            ("GET", "/v2/repo/unknown"),
            ("GET", "/v3/"),
            ("PUT", "/v2/repo/tags/list"),
            ("POST", "/v2/repo/manifests/v1"),
        ] {
            reg.send(m, p, &[], B::Empty)
                .await
                .expect_one_of(&[400, 404, 405]);
        }
    }
}

// ---------------------------------------------------------------------------
// End-to-end pull of a pushed image, as a client would do it
// ---------------------------------------------------------------------------
mod end_to_end {
    use super::*;

    /// Push blobs by three different methods, push a manifest, pull it by tag,
    /// follow its descriptors and verify each blob against its digest
    /// ("the client MUST verify the value against the uploaded blob data").
    #[tokio::test]
    async fn push_and_pull_image() {
        let reg = Reg::new().await;
        let name = "e2e/app";
        let config = br#"{"architecture":"arm64","os":"linux"}"#.to_vec();
        let l1: Vec<u8> = (0..70_000u32).map(|i| (i % 13) as u8).collect();
        let l2 = b"second layer".to_vec();

        // config: single POST
        let cd = sha256(&config);
        reg.send(
            "POST",
            &format!("/v2/{name}/blobs/uploads/?digest={}", qenc(&cd)),
            &[("content-type", "application/octet-stream")],
            B::Bytes(config.clone()),
        )
        .await
        .expect(201);
        // l1: chunked
        let d1 = sha256(&l1);
        let mut loc = reg.start_upload(name).await.location();
        for (i, chunk) in l1.chunks(16_384).enumerate() {
            let start = i * 16_384;
            let range = format!("{}-{}", start, start + chunk.len() - 1);
            let r = reg
                .send(
                    "PATCH",
                    &loc,
                    &[
                        ("content-type", "application/octet-stream"),
                        ("content-range", &range),
                    ],
                    B::Bytes(chunk.to_vec()),
                )
                .await;
            r.expect(202);
            loc = r.location();
        }
        reg.send(
            "PUT",
            &add_query(&loc, &format!("digest={}", qenc(&d1))),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        // l2: POST then PUT
        let d2 = reg.push_blob(name, &l2).await;

        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &cd, config.len()),
            "layers": [desc(OCI_LAYER, &d1, l1.len()), desc(OCI_LAYER, &d2, l2.len())],
        }))
        .unwrap();
        reg.put_manifest_ok(name, "1.0", OCI_MANIFEST, &m).await;

        let g = reg
            .get_h(
                &format!("/v2/{name}/manifests/1.0"),
                &[("accept", OCI_MANIFEST)],
            )
            .await;
        g.expect(200);
        let v = g.json();
        let mut descs = vec![v["config"].clone()];
        descs.extend(v["layers"].as_array().unwrap().iter().cloned());
        for dsc in descs {
            let d = dsc["digest"].as_str().unwrap();
            let b = reg.get(&format!("/v2/{name}/blobs/{d}")).await;
            b.expect(200);
            assert_eq!(sha256(&b.body), d);
            assert_eq!(b.body.len() as u64, dsc["size"].as_u64().unwrap());
        }
    }
}

// ---------------------------------------------------------------------------
// More upload edge cases
// ---------------------------------------------------------------------------
mod uploads_more {
    use super::*;

    /// "The registry MAY treat the `from` parameter as optional, and it MAY
    /// cross-mount the blob if it can be found." Either 201 (and then the blob
    /// is really there) or 202 with a session.
    #[tokio::test]
    async fn mount_without_from() {
        let reg = Reg::new().await;
        let d = reg.push_blob("src", b"mount without from").await;
        let r = reg
            .send(
                "POST",
                &format!("/v2/dst/blobs/uploads/?mount={}", qenc(&d)),
                &[],
                B::Empty,
            )
            .await;
        r.expect_one_of(&[201, 202]);
        if r.status.as_u16() == 201 {
            reg.get(&format!("/v2/dst/blobs/{d}")).await.expect(200);
        } else {
            r.location();
        }
    }

    /// A mounted blob survives deletion from the source repository.
    #[tokio::test]
    async fn mounted_blob_survives_source_delete() {
        let reg = Reg::new().await;
        let d = reg.push_blob("src", b"shared by mount").await;
        reg.send(
            "POST",
            &format!("/v2/dst/blobs/uploads/?mount={}&from=src", qenc(&d)),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        reg.delete(&format!("/v2/src/blobs/{d}")).await.expect(202);
        reg.get(&format!("/v2/src/blobs/{d}")).await.expect(404);
        let g = reg.get(&format!("/v2/dst/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"shared by mount");
    }

    /// Mounting into a repository that already has the blob is still 201.
    #[tokio::test]
    async fn mount_when_already_present() {
        let reg = Reg::new().await;
        let d = reg.push_blob("src", b"both").await;
        reg.push_blob("dst", b"both").await;
        reg.send(
            "POST",
            &format!("/v2/dst/blobs/uploads/?mount={}&from=src", qenc(&d)),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
    }

    /// Cancelling an unknown session: 404 BLOB_UPLOAD_UNKNOWN.
    #[tokio::test]
    async fn cancel_unknown_session_is_404() {
        let reg = Reg::new().await;
        reg.push_blob("repo", b"x").await;
        reg.delete("/v2/repo/blobs/uploads/3f0a6c1e-5b1d-4c1e-9c3e-2f6a1b2c3d4e")
            .await
            .expect_error(404, "BLOB_UPLOAD_UNKNOWN");
    }

    /// A closing PUT whose Content-Range does not follow the received bytes
    /// is out of order → 416.
    #[tokio::test]
    async fn put_with_out_of_order_final_chunk_is_416() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PATCH",
                &loc,
                &[("content-range", "0-4")],
                B::Bytes(b"01234".to_vec()),
            )
            .await;
        r.expect(202);
        let whole = b"0123456789".to_vec();
        let r = reg
            .send(
                "PUT",
                &add_query(&r.location(), &format!("digest={}", qenc(&sha256(&whole)))),
                &[("content-range", "7-9")],
                B::Bytes(b"789".to_vec()),
            )
            .await;
        r.expect(416);
    }

    /// Single POST of an empty blob.
    #[tokio::test]
    async fn single_post_empty_blob() {
        let reg = Reg::new().await;
        let d = sha256(b"");
        reg.send(
            "POST",
            &format!("/v2/repo/blobs/uploads/?digest={}", qenc(&d)),
            &[],
            B::Empty,
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert!(g.body.is_empty());
    }

    /// A blob of several MiB, pushed in one PUT and pulled whole and by range.
    #[tokio::test]
    async fn multi_mib_blob() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..(5 * 1024 * 1024 + 3) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let d = reg.push_blob("repo", &data).await;
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(g.body.len(), data.len());
        assert_eq!(sha256(&g.body), d);
        let r = reg
            .get_h(
                &format!("/v2/repo/blobs/{d}"),
                &[("range", "bytes=4194300-4194309")],
            )
            .await;
        r.expect(206);
        assert_eq!(&r.body[..], &data[4_194_300..4_194_310]);
        assert_eq!(
            r.must_header("content-range"),
            format!("bytes 4194300-4194309/{}", data.len())
        );
    }

    /// A streamed single POST (no Content-Length) either works (201) or is
    /// refused cleanly; it must never store a wrong blob.
    #[tokio::test]
    async fn single_post_streamed() {
        let reg = Reg::new().await;
        let chunks = vec![b"abc".to_vec(), b"def".to_vec()];
        let d = sha256(b"abcdef");
        let r = reg
            .send(
                "POST",
                &format!("/v2/repo/blobs/uploads/?digest={}", qenc(&d)),
                &[],
                B::Stream(chunks),
            )
            .await;
        r.expect_one_of(&[201, 202, 400, 411]);
        if r.status.as_u16() == 201 {
            let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
            assert_eq!(&g.body[..], b"abcdef");
        }
    }
}

// ---------------------------------------------------------------------------
// Manifest lifecycle and integrity
// ---------------------------------------------------------------------------
mod lifecycle {
    use super::*;

    /// Pushing the same manifest twice is idempotent.
    #[tokio::test]
    async fn same_manifest_twice() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        reg.put_manifest_ok("repo", "v1", OCI_MANIFEST, &p.body)
            .await;
        reg.put_manifest_ok("repo", &p.digest, OCI_MANIFEST, &p.body)
            .await;
        let g = reg.get("/v2/repo/manifests/v1").await;
        g.expect(200);
        assert_eq!(&g.body[..], &p.body[..]);
    }

    /// After a blob is deleted, a manifest that needs it is refused.
    #[tokio::test]
    async fn manifest_after_blob_delete_is_blob_unknown() {
        let reg = Reg::new().await;
        let (body, config) = reg.image_blobs("repo", "a").await;
        let cd = config["digest"].as_str().unwrap();
        reg.delete(&format!("/v2/repo/blobs/{cd}"))
            .await
            .expect(202);
        reg.put_manifest("repo", "v1", OCI_MANIFEST, &body)
            .await
            .expect_error(400, "MANIFEST_BLOB_UNKNOWN");
    }

    /// The same blob content in two repositories, deleted from one, still
    /// backs manifests in the other.
    #[tokio::test]
    async fn shared_content_survives_delete_elsewhere() {
        let reg = Reg::new().await;
        let p = reg.push_image("one", "v1", "same").await;
        reg.push_image("two", "v1", "same").await;
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        for dsc in [&v["config"], &v["layers"][0]] {
            let d = dsc["digest"].as_str().unwrap();
            reg.delete(&format!("/v2/one/blobs/{d}")).await.expect(202);
        }
        reg.delete(&format!("/v2/one/manifests/{}", p.digest))
            .await
            .expect(202);
        for dsc in [&v["config"], &v["layers"][0]] {
            let d = dsc["digest"].as_str().unwrap();
            let g = reg.get(&format!("/v2/two/blobs/{d}")).await;
            g.expect(200);
            assert_eq!(sha256(&g.body), d);
        }
        let g = reg.get("/v2/two/manifests/v1").await;
        g.expect(200);
        assert_eq!(&g.body[..], &p.body[..]);
    }

    /// Deleting every tag leaves the manifest reachable by digest and the
    /// repository's tag list empty (or the repository unknown), not broken.
    #[tokio::test]
    async fn delete_all_tags() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        reg.delete("/v2/repo/manifests/v1").await.expect(202);
        let t = reg.get("/v2/repo/tags/list").await;
        t.expect_one_of(&[200, 404]);
        if t.status.as_u16() == 200 {
            let tags = t.json()["tags"].clone();
            assert!(tags.is_null() || tags == json!([]), "{tags}");
        }
        reg.get(&format!("/v2/repo/manifests/{}", p.digest))
            .await
            .expect(200);
    }

    /// An index artifact with its own `artifactType` is listed with it.
    #[tokio::test]
    async fn index_referrer_with_artifact_type() {
        let reg = Reg::new().await;
        let img = reg.push_image("repo", "v1", "a").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": "application/vnd.example.bundle",
            "manifests": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size},
        }))
        .unwrap();
        let d = reg
            .put_manifest_ok("repo", &sha256(&body), OCI_INDEX, &body)
            .await;
        let r = reg.get(&format!("/v2/repo/referrers/{}", img.digest)).await;
        r.expect(200);
        let ms = r.json()["manifests"].clone();
        assert_eq!(ms.as_array().unwrap().len(), 1, "{ms}");
        assert_eq!(ms[0]["digest"], d.as_str());
        assert_eq!(ms[0]["artifactType"], "application/vnd.example.bundle");
        assert_eq!(ms[0]["mediaType"], OCI_INDEX);
    }

    /// A manifest without annotations is listed without (or with empty)
    /// annotations, and a referrer with an empty `artifactType` falls back to
    /// the config media type ("If the `artifactType` is empty or missing").
    #[tokio::test]
    async fn empty_artifact_type_falls_back_to_config() {
        let reg = Reg::new().await;
        let img = reg.push_image("repo", "v1", "a").await;
        let empty = reg.push_empty_json("repo").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "",
            "config": {"mediaType": "application/vnd.example.cfg", "digest": EMPTY_JSON_DIGEST, "size": 2},
            "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size},
        }))
        .unwrap();
        // image-spec: `artifactType` "MUST comply with RFC 6838", which an
        // empty string does not; refusing the manifest is also acceptable.
        let put = reg
            .put_manifest("repo", &sha256(&body), OCI_MANIFEST, &body)
            .await;
        if put.status.as_u16() == 400 {
            put.expect_error(400, "MANIFEST_INVALID");
            return;
        }
        put.expect(201);
        let r = reg.get(&format!("/v2/repo/referrers/{}", img.digest)).await;
        r.expect(200);
        let ms = r.json()["manifests"].clone();
        assert_eq!(ms[0]["artifactType"], "application/vnd.example.cfg", "{ms}");
        let ann = &ms[0]["annotations"];
        assert!(
            ann.is_null() || ann == &json!({}),
            "annotations invented: {ann}"
        );
    }

    /// Blob GET for a manifest digest, and manifest GET for a blob digest,
    /// must not confuse the two kinds of content: a config blob is not a
    /// manifest.
    #[tokio::test]
    async fn blob_is_not_a_manifest() {
        let reg = Reg::new().await;
        let (_, config) = reg.image_blobs("repo", "a").await;
        let cd = config["digest"].as_str().unwrap();
        reg.get(&format!("/v2/repo/manifests/{cd}"))
            .await
            .expect_error(404, "MANIFEST_UNKNOWN");
    }
}

// ---------------------------------------------------------------------------
// Pagination to the end, concurrency, proxy namespace, restart
// ---------------------------------------------------------------------------
mod robustness {
    use super::*;
    use futures_util::future::join_all;

    /// Follows `Link: rel="next"` from `first` and returns everything listed
    /// under `key`.
    async fn collect_pages(reg: &Reg, first: &str, key: &str) -> Vec<String> {
        let mut out = vec![];
        let mut url = Some(first.to_string());
        let mut pages = 0;
        while let Some(u) = url {
            pages += 1;
            assert!(pages < 1000, "pagination does not end");
            let r = reg.get(&u).await;
            r.expect(200);
            let v = r.json();
            if let Some(a) = v[key].as_array() {
                out.extend(a.iter().map(|x| x.as_str().unwrap().to_string()));
            }
            url = r.next_link();
        }
        out
    }

    /// Many tags: whatever the page size, following Link yields every tag
    /// once, in order.
    #[tokio::test]
    async fn tags_pagination_covers_everything() {
        let reg = Reg::new().await;
        let (body, _) = reg.image_blobs("repo", "many").await;
        let mut want: Vec<String> = (0..260).map(|i| format!("t{i:03}")).collect();
        for t in want.iter().rev() {
            reg.put_manifest_ok("repo", t, OCI_MANIFEST, &body).await;
        }
        want.sort();
        assert_eq!(
            collect_pages(&reg, "/v2/repo/tags/list", "tags").await,
            want
        );
        assert_eq!(
            collect_pages(&reg, "/v2/repo/tags/list?n=7", "tags").await,
            want
        );
        assert_eq!(
            collect_pages(&reg, "/v2/repo/tags/list?n=1", "tags").await,
            want
        );
    }

    #[tokio::test]
    async fn catalog_pagination_covers_everything() {
        let reg = Reg::new().await;
        let mut want: Vec<String> = (0..25).map(|i| format!("ns/r{i:02}")).collect();
        for name in &want {
            reg.push_image(name, "v1", "same").await;
        }
        want.sort();
        assert_eq!(
            collect_pages(&reg, "/v2/_catalog?n=4", "repositories").await,
            want
        );
    }

    /// Many referrers: every one is listed, across pages if the registry
    /// pages ("it MUST include a `Link` header").
    #[tokio::test]
    async fn referrers_pagination_covers_everything() {
        let reg = Reg::new().await;
        let img = reg.push_image("repo", "v1", "a").await;
        let empty = reg.push_empty_json("repo").await;
        let mut want = vec![];
        for i in 0..40 {
            let body = serde_json::to_vec(&json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "artifactType": "application/vnd.example.n",
                "config": empty, "layers": [empty],
                "subject": {"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size},
                "annotations": {"i": i.to_string()},
            }))
            .unwrap();
            want.push(
                reg.put_manifest_ok("repo", &sha256(&body), OCI_MANIFEST, &body)
                    .await,
            );
        }
        want.sort();
        let mut got = vec![];
        let mut url = Some(format!("/v2/repo/referrers/{}", img.digest));
        while let Some(u) = url {
            let r = reg.get(&u).await;
            r.expect(200);
            assert_eq!(r.must_header("content-type"), OCI_INDEX);
            for m in r.json()["manifests"].as_array().unwrap() {
                got.push(m["digest"].as_str().unwrap().to_string());
            }
            url = r.next_link();
        }
        got.sort();
        assert_eq!(got, want);
    }

    /// "If process A and B upload the same layer at the same time, both
    /// operations will proceed and the first to complete will be stored".
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_of_same_blob() {
        let reg = Reg::new().await;
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
        let results = join_all((0..8).map(|_| reg.push_blob("repo", &data))).await;
        assert!(results.iter().all(|d| *d == sha256(&data)));
        let g = reg.get(&format!("/v2/repo/blobs/{}", sha256(&data))).await;
        g.expect(200);
        assert_eq!(&g.body[..], &data[..]);
    }

    /// Concurrent pushes of different manifests to the same tag: the tag ends
    /// at one of them, whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_tag_pushes() {
        let reg = Reg::new().await;
        let mut bodies = vec![];
        for i in 0..6 {
            bodies.push(reg.image_blobs("repo", &format!("c{i}")).await.0);
        }
        let rs = join_all(
            bodies
                .iter()
                .map(|b| reg.put_manifest("repo", "race", OCI_MANIFEST, b)),
        )
        .await;
        for r in &rs {
            r.expect(201);
        }
        let g = reg.get("/v2/repo/manifests/race").await;
        g.expect(200);
        assert!(bodies.iter().any(|b| b[..] == g.body[..]));
        assert_eq!(g.must_header("docker-content-digest"), sha256(&g.body));
    }

    /// Concurrent pushes of different blobs and manifests to many
    /// repositories all land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pushes_to_many_repos() {
        let reg = Reg::new().await;
        let names: Vec<String> = (0..8).map(|i| format!("par/r{i}")).collect();
        let pushed = join_all(names.iter().map(|n| reg.push_image(n, "v1", n.as_str()))).await;
        for (n, p) in names.iter().zip(&pushed) {
            let g = reg.get(&format!("/v2/{n}/manifests/v1")).await;
            g.expect(200);
            assert_eq!(&g.body[..], &p.body[..]);
        }
    }

    /// "A `ns` query parameter on pull operations is OPTIONAL" ... "A
    /// registry MAY choose to ignore the `ns` query parameter." A registry
    /// that is not a proxy serves its own content either way.
    #[tokio::test]
    async fn ns_query_parameter_is_ignored_or_honoured() {
        let reg = Reg::new().await;
        let p = reg.push_image("library/app", "v1", "a").await;
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        let ld = v["layers"][0]["digest"].as_str().unwrap();
        let g = reg
            .get("/v2/library/app/manifests/v1?ns=registry.example.com")
            .await;
        g.expect(200);
        assert_eq!(&g.body[..], &p.body[..]);
        reg.get(&format!(
            "/v2/library/app/blobs/{ld}?ns=registry.example.com"
        ))
        .await
        .expect(200);
        reg.head(&format!(
            "/v2/library/app/manifests/{}?ns=registry.example.com",
            p.digest
        ))
        .await
        .expect(200);
    }

    /// Content survives a restart of the registry on the same data directory.
    #[tokio::test]
    async fn content_survives_restart() {
        let reg = Reg::new().await;
        let p = reg.push_image("repo", "v1", "a").await;
        let d = reg.push_blob("repo", b"persisted").await;
        let reg = reg.reopen().await;
        let g = reg.get("/v2/repo/manifests/v1").await;
        g.expect(200);
        assert_eq!(&g.body[..], &p.body[..]);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        g.expect(200);
        assert_eq!(&g.body[..], b"persisted");
        let t = reg.get("/v2/repo/tags/list").await;
        assert_eq!(t.json()["tags"], json!(["v1"]));
    }

    /// Resumable push: an upload session survives a registry restart and
    /// continues from the reported Range.
    #[tokio::test]
    async fn upload_session_survives_restart() {
        let reg = Reg::new().await;
        let loc = reg.start_upload("repo").await.location();
        let r = reg
            .send(
                "PATCH",
                &loc,
                &[("content-range", "0-4")],
                B::Bytes(b"01234".to_vec()),
            )
            .await;
        r.expect(202);
        let loc = r.location();
        let reg = reg.reopen().await;
        let s = reg.get(&loc).await;
        s.expect(204);
        assert_eq!(s.upload_range_end(), 4);
        let d = sha256(b"0123456789");
        reg.send(
            "PUT",
            &add_query(&s.location(), &format!("digest={}", qenc(&d))),
            &[("content-range", "5-9")],
            B::Bytes(b"56789".to_vec()),
        )
        .await
        .expect(201);
        let g = reg.get(&format!("/v2/repo/blobs/{d}")).await;
        assert_eq!(&g.body[..], b"0123456789");
    }
}

// ---------------------------------------------------------------------------
// Small edge cases
// ---------------------------------------------------------------------------
mod edges {
    use super::*;

    /// A range on an empty blob cannot be satisfied (RFC 9110 14.1.1).
    #[tokio::test]
    async fn range_on_empty_blob_is_416() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", b"").await;
        let r = reg
            .get_h(&format!("/v2/repo/blobs/{d}"), &[("range", "bytes=0-0")])
            .await;
        r.expect(416);
    }

    /// A one-byte range.
    #[tokio::test]
    async fn single_byte_range() {
        let reg = Reg::new().await;
        let d = reg.push_blob("repo", b"xyz").await;
        let r = reg
            .get_h(&format!("/v2/repo/blobs/{d}"), &[("range", "bytes=1-1")])
            .await;
        r.expect(206);
        assert_eq!(&r.body[..], b"y");
        assert_eq!(r.must_header("content-range"), "bytes 1-1/3");
    }

    /// A `subject` whose digest is malformed makes the manifest invalid.
    #[tokio::test]
    async fn malformed_subject_digest_is_400() {
        let reg = Reg::new().await;
        let empty = reg.push_empty_json("repo").await;
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.x",
            "config": empty, "layers": [empty],
            "subject": {"mediaType": OCI_MANIFEST, "digest": "sha256:nothex", "size": 1},
        }))
        .unwrap();
        reg.put_manifest("repo", "bad", OCI_MANIFEST, &body)
            .await
            .expect_error_among(&[400], &["MANIFEST_INVALID", "DIGEST_INVALID"]);
    }

    /// A tag is mutable, so its response must not be cached as if it were
    /// content addressed by digest.
    #[tokio::test]
    async fn manifest_by_tag_is_not_long_cached() {
        let reg = Reg::new().await;
        reg.push_image("repo", "v1", "a").await;
        let r = reg.get("/v2/repo/manifests/v1").await;
        r.expect(200);
        if let Some(cc) = r.header("cache-control") {
            assert!(!cc.contains("immutable"), "tag marked immutable: {cc}");
            let long = cc
                .split(',')
                .filter_map(|p| p.trim().strip_prefix("max-age="))
                .any(|v| v.parse::<u64>().map(|n| n >= 3600).unwrap_or(false));
            assert!(!long, "tag cached for long: {cc}");
        }
    }
}
