//! Project names: every name that `new` accepts gives a package that Cargo reads, named as
//! asked; every name it refuses comes with a suggestion that it accepts.

use std::fs;
use std::process::Command;

use grpc_scaffold::naming::{check_package_name, suggest_package_name};
use grpc_scaffold::options::Options;
use grpc_scaffold::{generate, Error, Kind};
use proptest::prelude::*;
use tempfile::TempDir;

use super::fuzz;
use crate::support::fixture;

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        // Close to valid: lowercase words, digits and separators.
        "[a-z][a-z0-9_-]{0,30}",
        // Anything at all.
        any::<String>(),
        // Keywords, crate names and Unicode, joined.
        prop::collection::vec(
            prop::sample::select(
                &[
                    "self", "type", "tonic", "tokio", "serde", "std", "é", "-", "_", "a", "0", "A",
                    "/", ".."
                ][..]
            ),
            1..5
        )
        .prop_map(|parts| parts.concat()),
    ]
}

/// `cargo metadata` reads the project's manifest; the package and server have the names asked.
fn cargo_reads(dir: &std::path::Path, name: &str) -> Result<(), String> {
    let options = Options::new(name, Kind::Basic).map_err(|err| err.to_string())?;
    let project = match generate(&options) {
        Ok(project) => project,
        // Refused, with its own error, after rendering: a name that shadows a dependency.
        Err(Error::NameShadowsDependency { .. }) => return Ok(()),
        Err(err) => return Err(format!("`{name}` was accepted, then failed: {err}")),
    };
    let root = dir.join(name);
    for (path, contents) in &project.files {
        let target = root.join(path);
        fs::create_dir_all(target.parent().unwrap()).map_err(|err| err.to_string())?;
        fs::write(&target, contents).map_err(|err| err.to_string())?;
    }
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(&root)
        .output()
        .map_err(|err| err.to_string())?;
    fs::remove_dir_all(&root).map_err(|err| err.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "cargo refuses `{name}`: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|err| err.to_string())?;
    let package = &metadata["packages"][0];
    let server = format!("{name}-server");
    let has_server = package["targets"]
        .as_array()
        .is_some_and(|targets| targets.iter().any(|t| t["name"] == server.as_str()));
    if package["name"] != name || !has_server {
        return Err(format!("`{name}` became {package}"));
    }
    Ok(())
}

fn check(dir: &std::path::Path, name: &str) -> Result<(), String> {
    if check_package_name(name).is_ok() {
        return cargo_reads(dir, name);
    }
    let suggestion = suggest_package_name(name);
    check_package_name(&suggestion).map_err(|reason| {
        format!("`{name}` is refused with the suggestion `{suggestion}`, which is refused too: {reason}")
    })
}

#[test]
fn project_names() {
    let dir = TempDir::new().unwrap();
    let corpus = fs::read_to_string(fixture("../fuzz/corpus/project_names/names.txt")).unwrap();
    for name in corpus.lines() {
        check(dir.path(), name).unwrap_or_else(|reason| panic!("corpus: {reason}"));
    }
    fuzz("project_names", names(), |name| check(dir.path(), name));
}
