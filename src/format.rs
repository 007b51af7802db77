//! The format stage, for kinds whose code is built from the user's names: rustfmt lays it out
//! exactly as `cargo fmt` would, which no template can do for names of any length.
//!
//! rustfmt ships with every rustup toolchain. One process formats every file, in a scratch
//! directory (never the destination). Where rustfmt is missing or fails, the code is left as
//! rendered (it builds the same), and a warning says to run `cargo fmt`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::render::Files;

/// The edition of the generated projects, which rustfmt needs to parse them.
const EDITION: &str = "2024";

/// Format every `.rs` file of `files` in place.
pub fn rust_files(files: &mut Files) {
    let rust: Vec<PathBuf> = files
        .keys()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .cloned()
        .collect();
    if rust.is_empty() {
        return;
    }
    if let Err(reason) = format_all(files, &rust) {
        anstream::eprintln!("warning: {reason}; run `cargo fmt` in the new project");
    }
}

/// A file that no `mod` declaration reaches: the library root, binaries, build script, tests.
fn is_root(path: &Path) -> bool {
    !path.starts_with("src") || path == Path::new("src/lib.rs") || path.starts_with("src/bin")
}

fn format_all(files: &mut Files, rust: &[PathBuf]) -> Result<(), String> {
    let scratch = tempfile::tempdir().map_err(|err| format!("rustfmt did not run: {err}"))?;
    // The project's own layout, so that rustfmt finds the files that `mod` declarations name.
    let mut paths = Vec::with_capacity(rust.len());
    for path in rust {
        let scratch_path = scratch.path().join(path);
        if let Some(dir) = scratch_path.parent() {
            fs::create_dir_all(dir).map_err(|err| format!("rustfmt did not run: {err}"))?;
        }
        fs::write(&scratch_path, &files[path])
            .map_err(|err| format!("rustfmt did not run: {err}"))?;
        paths.push(scratch_path);
    }
    // rustfmt follows `mod` declarations: naming only the crate roots formats each module once.
    let roots = rust
        .iter()
        .zip(&paths)
        .filter(|(path, _)| is_root(path))
        .map(|(_, scratch_path)| scratch_path);
    let status = Command::new(std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into()))
        .args(["--edition", EDITION, "--quiet"])
        .args(roots)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|err| format!("rustfmt did not run: {err}"))?;
    if !status.success() {
        return Err(format!("rustfmt failed ({status})"));
    }
    for (path, scratch_path) in rust.iter().zip(&paths) {
        let formatted = fs::read_to_string(scratch_path)
            .map_err(|err| format!("rustfmt output lost: {err}"))?;
        files.insert(path.clone(), formatted);
    }
    Ok(())
}
