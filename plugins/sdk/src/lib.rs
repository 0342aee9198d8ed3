//! Write arca artifact-type plugins.
//!
//! Implement [`Plugin`] for a type and export it with [`export_plugin!`]; build for
//! `wasm32-wasip2`. The same code runs natively under [`testing::Harness`], which serves
//! blobs from memory or files, so a plugin is tested with `cargo test` and no registry.
//!
//! ```ignore
//! use arca_plugin_sdk::prelude::*;
//!
//! struct Lint;
//! impl Plugin for Lint {
//!     fn info() -> Info { Info::new("lint", "0.1.0").handles(["*"]).validates() }
//!     fn validate(m: &Manifest, cx: &Context) -> Verdict {
//!         if m.annotation("org.opencontainers.image.source").is_none() {
//!             return Verdict::reject([Violation::new("/annotations", "source annotation is required")]);
//!         }
//!         Verdict::accept()
//!     }
//! }
//! export_plugin!(Lint);
//! ```

#![deny(missing_docs)]

mod model;
pub mod testing;

#[cfg(feature = "archive")]
pub mod archive;

#[doc(hidden)]
#[cfg(target_arch = "wasm32")]
pub mod guest;

pub use model::*;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::{
        Context, Descriptor, Document, Facet, Info, Level, Manifest, Plugin, Rendered, Verdict,
        Violation, export_plugin,
    };
}

/// What a plugin implements. Every function but `info` has a default that does nothing,
/// so implement only the capabilities you declare.
pub trait Plugin {
    /// Who the plugin is and what it handles.
    fn info() -> Info;

    /// Check a manifest before it becomes visible.
    fn validate(_m: &Manifest, _cx: &Context) -> Verdict {
        Verdict::accept()
    }

    /// Describe a committed manifest for search and display.
    fn index(_m: &Manifest, _cx: &Context) -> Result<Option<Document>, String> {
        Ok(None)
    }

    /// Produce a view over one manifest (`target`) or over the documents of every
    /// repository under `prefix`.
    fn render(
        view: &str,
        _prefix: &str,
        _target: Option<&Manifest>,
        _documents: &[serde_json::Value],
        _cx: &Context,
    ) -> Result<Rendered, String> {
        Err(format!("this plugin has no view {view:?}"))
    }
}

/// Export a [`Plugin`] implementation as the component's `arca:plugin/plugin` interface.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __ArcaExport;
            impl $crate::guest::Guest for __ArcaExport {
                fn info() -> $crate::guest::wit::PluginInfo {
                    $crate::guest::info::<$plugin>()
                }
                fn validate(m: $crate::guest::wit::Manifest) -> $crate::guest::wit::Verdict {
                    $crate::guest::validate::<$plugin>(m)
                }
                fn index(
                    m: $crate::guest::wit::Manifest,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::guest::wit::Document>,
                    String,
                > {
                    $crate::guest::index::<$plugin>(m)
                }
                fn render(
                    view: String,
                    prefix: String,
                    target: ::core::option::Option<$crate::guest::wit::Manifest>,
                    documents: Vec<String>,
                ) -> ::core::result::Result<$crate::guest::wit::Rendered, String> {
                    $crate::guest::render::<$plugin>(view, prefix, target, documents)
                }
            }
    $crate::guest::export!(__ArcaExport with_types_in $crate::guest::bindings);
        };
    };
}
