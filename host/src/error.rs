//! The one error type every API failure becomes: an OCI error body
//! `{"errors":[{"code","message","detail"}]}` with the spec's status code.
//!
//! Operations in `registry` return [`Error`]; the API layer turns it into a response.
//! Use [`Error::internal`] only for faults that are not the client's (I/O, database):
//! they are logged with their cause and answered with a 500 that names no internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error codes of the distribution spec (plus arca's `TOOBIG`-style extras mapped onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Blob unknown to registry.
    BlobUnknown,
    /// Blob upload invalid.
    BlobUploadInvalid,
    /// Blob upload unknown to registry.
    BlobUploadUnknown,
    /// Provided digest did not match uploaded content.
    DigestInvalid,
    /// Manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// Manifest invalid.
    ManifestInvalid,
    /// Manifest unknown to registry.
    ManifestUnknown,
    /// Invalid repository name.
    NameInvalid,
    /// Repository name not known to registry.
    NameUnknown,
    /// Provided length did not match content length.
    SizeInvalid,
    /// Authentication required.
    Unauthorized,
    /// Requested access to the resource is denied.
    Denied,
    /// The operation is unsupported.
    Unsupported,
    /// Too many requests.
    TooManyRequests,
    /// A server-side fault (CNCF Distribution's code for it).
    Unknown,
}

impl Code {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::TooManyRequests => "TOOMANYREQUESTS",
            Code::Unknown => "UNKNOWN",
        }
    }

    /// The status the spec pairs with the code.
    pub fn status(self) -> StatusCode {
        match self {
            Code::BlobUnknown
            | Code::BlobUploadUnknown
            | Code::ManifestUnknown
            | Code::NameUnknown => StatusCode::NOT_FOUND,
            Code::BlobUploadInvalid
            | Code::DigestInvalid
            | Code::ManifestBlobUnknown
            | Code::ManifestInvalid
            | Code::NameInvalid
            | Code::SizeInvalid => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Denied => StatusCode::FORBIDDEN,
            Code::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An API error: a code, a human message, optional structured detail, and the status
/// to answer with (the code's own unless overridden, e.g. 416 or 413).
#[derive(Debug)]
pub struct Error {
    /// The OCI error code.
    pub code: Code,
    /// What is wrong and where, for a person.
    pub message: String,
    /// Machine-readable detail (JSON), if any.
    pub detail: Option<Box<serde_json::Value>>,
    /// The HTTP status; defaults to the code's.
    pub status: StatusCode,
    /// Extra response headers (e.g. `Range` on a 416 for uploads).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// Result alias for operations that fail with an OCI error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with the code's own status.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            detail: None,
            status: code.status(),
            headers: Vec::new(),
        }
    }

    /// Attach machine-readable detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    /// Answer with another status than the code's own.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Add a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// A server-side fault: logged with its cause, answered as a 500 without internals.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Error {
            code: Code::Unknown,
            message: format!("internal error: {context}"),
            detail: None,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            headers: Vec::new(),
        }
    }

    /// `BLOB_UNKNOWN` for a digest.
    pub fn blob_unknown(digest: &str) -> Self {
        Error::new(
            Code::BlobUnknown,
            format!("blob {digest} is not known to this repository"),
        )
        .with_detail(json!({ "digest": digest }))
    }

    /// `MANIFEST_UNKNOWN` for a reference.
    pub fn manifest_unknown(reference: &str) -> Self {
        Error::new(
            Code::ManifestUnknown,
            format!("manifest {reference} is not known to this repository"),
        )
        .with_detail(json!({ "reference": reference }))
    }

    /// `NAME_UNKNOWN` for a repository.
    pub fn name_unknown(name: &str) -> Self {
        Error::new(
            Code::NameUnknown,
            format!("repository {name} is not known to this registry"),
        )
        .with_detail(json!({ "name": name }))
    }

    /// `NAME_INVALID` for a repository name.
    pub fn name_invalid(name: &str) -> Self {
        Error::new(
            Code::NameInvalid,
            format!("repository name {name:?} does not match the distribution spec's name grammar"),
        )
        .with_detail(json!({ "name": name }))
    }

    /// `BLOB_UPLOAD_UNKNOWN` for a session id.
    pub fn upload_unknown(id: &str) -> Self {
        Error::new(
            Code::BlobUploadUnknown,
            format!("upload session {id} is not known (finished, cancelled or expired)"),
        )
        .with_detail(json!({ "session": id }))
    }

    /// `DIGEST_INVALID` with a reason.
    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Error::new(Code::DigestInvalid, message)
    }

    /// `MANIFEST_INVALID` with a reason.
    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        Error::new(Code::ManifestInvalid, message)
    }
}

impl From<crate::digest::DigestError> for Error {
    fn from(e: crate::digest::DigestError) -> Self {
        Error::digest_invalid(e.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut entry = json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(detail) = self.detail {
            entry["detail"] = *detail;
        }
        let body = json!({ "errors": [entry] }).to_string();
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in self.headers {
            headers.insert(k, v);
        }
        resp
    }
}
