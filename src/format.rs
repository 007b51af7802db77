//! The format stage, for kinds whose code is built from the user's names: rustfmt lays it out
//! exactly as `cargo fmt` would, which no template can do for names of any length.
//!
//! rustfmt ships with every rustup toolchain. Where it is missing, the code is left as rendered
//! (it builds the same), and a warning says to run `cargo fmt`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::render::Files;

/// The edition of the generated projects, which rustfmt needs to parse them.
const EDITION: &str = "2024";

/// Format every `.rs` file of `files` in place.
pub fn rust_files(files: &mut Files) {
    let mut missing = false;
    for (path, contents) in files.iter_mut() {
        if missing || path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        match rustfmt(contents) {
            Some(formatted) => *contents = formatted,
            None => missing = true,
        }
    }
    if missing {
        anstream::eprintln!("warning: rustfmt did not run; run `cargo fmt` in the new project");
    }
}

fn rustfmt(source: &str) -> Option<String> {
    let mut child = Command::new(rustfmt_path())
        .args(["--edition", EDITION, "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(source.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).ok())?
}

/// `$RUSTFMT` if set (as cargo honours it), else `rustfmt` on the PATH.
fn rustfmt_path() -> std::ffi::OsString {
    std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into())
}
