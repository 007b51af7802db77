//! The format stage, for kinds whose code is built from the user's names: rustfmt lays it out
//! exactly as `cargo fmt` would, which no template can do for names of any length.
//!
//! rustfmt ships with every rustup toolchain. It runs in scratch directories (never the
//! destination), in as many processes side by side as there are cores. Where rustfmt is missing or fails, the code is left as
//! rendered (it builds the same), and a warning says to run `cargo fmt`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::render::Files;

/// The edition of the generated projects, which rustfmt needs to parse them.
const EDITION: &str = "2024";

/// Starting a rustfmt process costs about as much as formatting this many bytes, so small
/// projects take one process, and large ones one per core.
const BYTES_PER_PROCESS: usize = 64 * 1024;

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
    let not_run = |err: std::io::Error| format!("rustfmt did not run: {err}");
    // The trunk (crate roots, and modules that declare modules) keeps the project's layout, so that
    // rustfmt finds the files that `mod` declarations name. Leaf modules, which are most of the
    // code, are formatted as roots of their own, in processes running side by side; in the
    // trunk's copy they are empty, so that rustfmt there has nothing to do with them.
    let (leaves, trunk): (Vec<&PathBuf>, Vec<&PathBuf>) = rust
        .iter()
        .partition(|path| !is_root(path) && !declares_modules(&files[*path]));
    let trunk_dir = tempfile::tempdir().map_err(not_run)?;
    let leaf_dir = tempfile::tempdir().map_err(not_run)?;
    let scratch = |path: &Path| {
        if leaves.iter().any(|leaf| leaf.as_path() == path) {
            leaf_dir.path().join(path)
        } else {
            trunk_dir.path().join(path)
        }
    };
    for path in rust {
        write_scratch(&scratch(path), &files[path]).map_err(not_run)?;
        if leaves.contains(&path) {
            write_scratch(&trunk_dir.path().join(path), "").map_err(not_run)?;
        }
    }

    // The trunk's roots go to the first process; each leaf to the least loaded one, by size.
    let total: usize = rust.iter().map(|path| files[path].len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let processes = cores.min(1 + total / BYTES_PER_PROCESS);
    let mut groups: Vec<(usize, Vec<PathBuf>)> = vec![(0, Vec::new()); processes];
    for path in trunk.iter().filter(|path| is_root(path)) {
        groups[0].0 += files[*path].len();
        groups[0].1.push(scratch(path));
    }
    let mut by_size = leaves.clone();
    by_size.sort_by_key(|path| std::cmp::Reverse(files[*path].len()));
    for path in by_size {
        let lightest = groups.iter_mut().min_by_key(|(load, _)| *load);
        let (load, paths) = lightest.expect("at least one process");
        *load += files[path].len();
        paths.push(scratch(path));
    }
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut running = Vec::new();
    for (_, paths) in groups.iter().filter(|(_, paths)| !paths.is_empty()) {
        let child = Command::new(&rustfmt)
            .args(["--edition", EDITION, "--quiet"])
            .args(paths)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(not_run)?;
        running.push(child);
    }
    for mut child in running {
        let status = child.wait().map_err(not_run)?;
        if !status.success() {
            return Err(format!("rustfmt failed ({status})"));
        }
    }

    for path in rust {
        let formatted = fs::read_to_string(scratch(path))
            .map_err(|err| format!("rustfmt output lost: {err}"))?;
        files.insert(path.clone(), formatted);
    }
    Ok(())
}

fn write_scratch(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, contents)
}

/// Whether `source` declares a module in a file of its own (`mod name;`), which rustfmt follows.
fn declares_modules(source: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim();
        let line = line
            .strip_prefix("pub ")
            .or_else(|| line.strip_prefix("pub(crate) "))
            .unwrap_or(line);
        line.strip_prefix("mod ")
            .is_some_and(|rest| rest.ends_with(';'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_declarations() {
        for (source, declares) in [
            ("pub mod services;\n", true),
            ("mod a;\nfn f() {}\n", true),
            ("  pub(crate) mod inner;", true),
            ("mod tests {\n}\n", false),
            ("// see the mod docs;\nfn f() {}\n", false),
        ] {
            assert_eq!(declares_modules(source), declares, "{source:?}");
        }
    }
}
