//! arca: an OCI Distribution registry whose knowledge of artifact types lives in
//! sandboxed WebAssembly plugins. This crate is the core: the HTTP API, storage,
//! metadata and (later) the plugin runtime. It never names a specific artifact type.

#![deny(missing_docs)]

pub mod api;
pub mod cli;
pub mod config;
pub mod digest;
pub mod error;
pub mod metadata;
pub mod plugins;
pub mod reference;
pub mod registry;
pub mod server;
pub mod storage;

pub use registry::App;
