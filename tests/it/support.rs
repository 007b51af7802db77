//! Helpers shared by the tests: running the CLI, generating projects, and finding tools.

use std::collections::BTreeMap;
use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::assert::Assert;
use grpc_scaffold::options::Options;
use grpc_scaffold::Kind;

/// The CLI under test, with colour off.
pub fn cli() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_grpc-scaffold"));
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    command
}

/// The fixture of tricky protos that the `custom` kind is tested with.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Options for `kind`, named `name`; `custom` serves the tricky fixture.
pub fn options(name: &str, kind: Kind) -> Options {
    let mut options = Options::new(name, kind).unwrap();
    if kind == Kind::Custom {
        options.protos = ["shop.proto", "v2/greeter.proto", "async/jobs.proto"]
            .map(|file| fixture("tricky/api").join(file))
            .to_vec();
        options.includes = vec![fixture("tricky/api")];
    }
    options
}

/// The runtime crate of this checkout, which the projects built here depend on by path: a
/// vendored copy in each would compile once per project.
pub fn runtime_checkout() -> grpc_scaffold::runtime::Source {
    grpc_scaffold::runtime::Source::Path(runtime_dir())
}

/// Where this checkout keeps the runtime crate.
pub fn runtime_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime")
}

/// The generated project of `kind`, named `name`, in memory, with its record (but not the base
/// of the tool's files, which repeats them).
pub fn render(name: &str, kind: Kind) -> BTreeMap<PathBuf, String> {
    let mut files = grpc_scaffold::generate(&options(name, kind))
        .unwrap()
        .with_record();
    files.retain(|path, _| !path.starts_with(grpc_scaffold::record::BASE));
    files
}

/// Every file below `dir`, relative to it.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    files.sort();
    files
}

/// Where the tests keep what they build, shared across kinds and runs so that the dependencies of
/// the generated projects compile once.
pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A `PATH` without any directory that holds `protoc`, to prove that nothing needs it.
pub fn path_without_protoc() -> OsString {
    let path = env::var_os("PATH").unwrap_or_default();
    let dirs = env::split_paths(&path).filter(|dir| !dir.join("protoc").exists());
    env::join_paths(dirs).unwrap()
}

/// The path of `tool` on `PATH`.
///
/// A missing tool fails the test, with a hint: the test command (`./scripts/test`) installs
/// every tool the tests use, so there is nothing to skip.
pub fn tool(name: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH; run the tests with `./scripts/test`, which installs it \
                 into target/tools, or install it yourself (see scripts/test-tools.txt)"
            )
        })
}

/// Run `command`, and fail the test with its output if it fails.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("failed to start {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

/// The standard error of a CLI run, as text.
pub fn stderr(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// A `python3` that can import `modules`, which the test command installs into its venv.
pub fn python_with(modules: &[&str]) -> PathBuf {
    let python = tool("python3");
    let imports = format!("import {}", modules.join(", "));
    let status = Command::new(&python).args(["-c", &imports]).output();
    assert!(
        status.is_ok_and(|output| output.status.success()),
        "`{}` cannot `{imports}`; run the tests with `./scripts/test`, which installs the Python \
         packages into target/tools, or install them yourself (see scripts/test-tools.txt)",
        python.display()
    );
    python
}

/// A command that runs the Python peer `tests/it/peers/<script>`, whose interpreter can import
/// `modules`.
pub fn peer(script: &str, modules: &[&str]) -> Command {
    let mut command = Command::new(python_with(modules));
    command.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/peers")
            .join(script),
    );
    command
}

/// Copy the tree at `from` to `to`, which may not exist yet.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}
