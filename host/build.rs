//! Builds the plugins in `plugins/` for `wasm32-wasip2` so the binary embeds them and
//! `cargo run -- serve` has them with no extra step. Each plugin is built on its own
//! (its own workspace) so dependency features never unify across plugins; all share one
//! target directory so common dependencies compile once.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (crate directory relative to the repository root, wasm file stem, env var with its path)
const GUESTS: &[(&str, &str, &str)] = &[
    (
        "plugins/image",
        "arca_plugin_image",
        "ARCA_PLUGIN_IMAGE_WASM",
    ),
    ("plugins/helm", "arca_plugin_helm", "ARCA_PLUGIN_HELM_WASM"),
    ("plugins/sbom", "arca_plugin_sbom", "ARCA_PLUGIN_SBOM_WASM"),
    (
        "plugins/signature",
        "arca_plugin_signature",
        "ARCA_PLUGIN_SIGNATURE_WASM",
    ),
    ("plugins/wasm", "arca_plugin_wasm", "ARCA_PLUGIN_WASM_WASM"),
    (
        "plugins/test-misbehave",
        "arca_plugin_test_misbehave",
        "ARCA_TEST_PLUGIN_MISBEHAVE_WASM",
    ),
    (
        "examples/required-annotations",
        "required_annotations",
        "ARCA_EXAMPLE_REQUIRED_ANNOTATIONS_WASM",
    ),
];

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("repository root")
        .to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    // <target>/<profile>/build/<pkg>/out → <target>
    let target_root = out_dir
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("target"));
    let wasm_target_dir = target_root.join("wasm-plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    ensure_wasm_target();
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("plugins/sdk").display()
    );
    for (dir, stem, var) in GUESTS {
        let crate_dir = root.join(dir);
        println!("cargo:rerun-if-changed={}", crate_dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            crate_dir.join("Cargo.toml").display()
        );
        let status = Command::new(&cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(crate_dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&wasm_target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_PRIMARY_PACKAGE")
            // Under `cargo clippy` the wrapper would lint (and fingerprint) the plugins as if
            // they were this workspace's; tests/run lints them on their own.
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build {dir}: {e}"));
        if !status.success() {
            panic!(
                "building plugin {dir} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
            );
        }
        let built = wasm_target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{stem}.wasm"));
        let dest = out_dir.join(format!("{stem}.wasm"));
        std::fs::copy(&built, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
        println!("cargo:rustc-env={var}={}", dest.display());
    }
}

/// The plugins need the `wasm32-wasip2` standard library. `rust-toolchain.toml` lists the
/// target, but rustup only adds listed targets when it installs the toolchain: add it here
/// when it is missing, so `cargo run -- serve` works on a fresh machine.
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let installed = sysroot
        .map(|s| Path::new(&s).join("lib/rustlib/wasm32-wasip2").exists())
        .unwrap_or(false);
    if !installed {
        println!(
            "cargo:warning=installing the wasm32-wasip2 target with rustup (needed to build the plugins)"
        );
        let _ = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status();
    }
}
