//! A component's world as WIT: its imports and exports named the way `wkg` and `oci-wasm`
//! name them in the artifact config (`Resolve::name_world_key`), and the whole world
//! printed as WIT text for the `wit` view.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use wit_component::WitPrinter;
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{PackageId, Resolve};

use crate::analyze::CoreItem;

/// The package every decoded component's world is placed in when the binary names none.
const ANONYMOUS_PACKAGE: &str = "root:component";

/// What a component's WIT says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    /// Import names, e.g. `wasi:io/streams@0.2.6` or a plain name for a function.
    pub imports: Vec<String>,
    /// Export names.
    pub exports: Vec<String>,
    /// The world, `ns:pkg/world@version`, when the binary names its package.
    pub world: Option<String>,
    /// The package, `ns:pkg@version`, when the binary names it.
    pub package: Option<String>,
    /// The binary is a WIT package (types only, as `wkg wit build` writes), not a program.
    pub wit_package: bool,
}

fn package_name(resolve: &Resolve, pkg: PackageId) -> String {
    resolve.packages[pkg].name.to_string()
}

/// Decodes a component's world. Errors for binaries that are valid components but were
/// not made from WIT (then the host falls back to the top-level import and export names).
pub fn decode_world(bytes: &[u8]) -> Result<World, String> {
    let decoded = decode(bytes).map_err(|e| format!("{e:#}"))?;
    Ok(match &decoded {
        DecodedWasm::Component(resolve, world_id) => {
            let world = &resolve.worlds[*world_id];
            let named = world
                .package
                .map(|p| &resolve.packages[p].name)
                .filter(|n| format!("{}:{}", n.namespace, n.name) != ANONYMOUS_PACKAGE);
            World {
                imports: world
                    .imports
                    .keys()
                    .map(|k| resolve.name_world_key(k))
                    .collect(),
                exports: world
                    .exports
                    .keys()
                    .map(|k| resolve.name_world_key(k))
                    .collect(),
                world: named.map(|n| qualified_world(n, &world.name)),
                package: named.map(|n| n.to_string()),
                wit_package: false,
            }
        }
        DecodedWasm::WitPackage(resolve, pkg_id) => {
            // The same list `oci-wasm` writes for a WIT package: every world's exports,
            // every world itself, every interface; no imports.
            let pkg = &resolve.packages[*pkg_id];
            let mut exports = BTreeSet::new();
            for world_id in pkg.worlds.values() {
                let world = &resolve.worlds[*world_id];
                exports.extend(world.exports.keys().map(|k| resolve.name_world_key(k)));
                exports.insert(qualified_world(&pkg.name, &world.name));
            }
            exports.extend(pkg.interfaces.values().filter_map(|id| resolve.id_of(*id)));
            World {
                imports: Vec::new(),
                exports: exports.into_iter().collect(),
                world: None,
                package: Some(package_name(resolve, *pkg_id)),
                wit_package: true,
            }
        }
    })
}

fn qualified_world(pkg: &wit_parser::PackageName, world: &str) -> String {
    match &pkg.version {
        Some(v) => format!("{}:{}/{world}@{v}", pkg.namespace, pkg.name),
        None => format!("{}:{}/{world}", pkg.namespace, pkg.name),
    }
}

/// The component's WIT: its own package (with its world) first, then every package it
/// uses, nested.
pub fn render_wit(bytes: &[u8]) -> Result<String, String> {
    let decoded = decode(bytes).map_err(|e| format!("cannot decode the component's WIT: {e:#}"))?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<PackageId> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = WitPrinter::default();
    printer
        .print(resolve, main, &nested)
        .map_err(|e| format!("cannot print the component's WIT: {e:#}"))?;
    Ok(printer.output.to_string())
}

/// A core module has no WIT; the `wit` view lists its imports and exports instead, in a
/// WIT-like form that reads the same way.
pub fn render_module(imports: &[CoreItem], exports: &[CoreItem], truncated: usize) -> String {
    let mut out = String::new();
    out.push_str(
        "// A core WebAssembly module, not a component: it has no WIT world.\n\
         // Its imports and exports, with their core types:\n\n",
    );
    let _ = writeln!(out, "module {{");
    for i in imports {
        let _ = writeln!(out, "    import {:?} {:?}: {};", i.module, i.name, i.desc);
    }
    if !imports.is_empty() && !exports.is_empty() {
        out.push('\n');
    }
    for e in exports {
        let _ = writeln!(out, "    export {:?}: {};", e.name, e.desc);
    }
    let _ = writeln!(out, "}}");
    if truncated > 0 {
        let _ = writeln!(out, "// ({truncated} more entries not listed)");
    }
    out
}
