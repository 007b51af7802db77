//! `update` and `check`: the upgrade fixtures carried forward with every user edit, conflicts,
//! a custom project following its protos through grpcurl, the generated CI's check, and a
//! property test of the merge.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use grpc_scaffold::merge::{self, Merged};
use proptest::prelude::*;
use tempfile::TempDir;

use crate::generated::{binary, cargo, grpcurl, Server};
use crate::support::{cli, copy_tree, fixture, run, runtime_dir, stderr, tool};

/// A copy of the upgrade fixture of `kind`, a project that grpc-scaffold 0.1.0 generated and a
/// user then edited.
fn upgrade_fixture(kind: &str) -> (TempDir, PathBuf) {
    release_fixture("0.1.0", kind)
}

/// A copy of the upgrade fixture of `kind` from `release`, made by that release's build.
fn release_fixture(release: &str, kind: &str) -> (TempDir, PathBuf) {
    let (dir, project) = fixture_copy(release, kind);
    depend_on_the_checkout(&project);
    (dir, project)
}

/// A copy of the upgrade fixture of `kind` from `release`, as that release left it.
fn fixture_copy(release: &str, kind: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join(kind);
    copy_tree(&fixture(&format!("upgrade-{release}")).join(kind), &project);
    (dir, project)
}

/// Point the record of `project` at this checkout's runtime, as someone working on the runtime
/// does, so that the projects built here share one build of it: a vendored copy in each would
/// compile once per project. `a_0_2_0_project_moves_onto_a_vendored_runtime` takes the copy.
fn depend_on_the_checkout(project: &Path) {
    let checkout = runtime_dir();
    let record = read(project, "grpc-scaffold.toml");
    let (head, tail) = record
        .split_once("\nname = ")
        .expect("the record names the project");
    let (name, rest) = tail.split_once('\n').unwrap();
    let line = format!("runtime = {:?}", checkout.display().to_string());
    let record = format!("{head}\nname = {name}\n{line}\n{rest}");
    fs::write(project.join("grpc-scaffold.toml"), record).unwrap();
}

fn read(project: &Path, path: &str) -> String {
    fs::read_to_string(project.join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn update(project: &Path) -> assert_cmd::assert::Assert {
    cli().arg("update").arg(project).assert()
}

fn check(project: &Path) -> assert_cmd::assert::Assert {
    cli().arg("check").arg(project).assert()
}

/// The edits that every fixture's user made to the tool's files.
const TOOL_EDITS: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[package.metadata.team]\nowner = \"payments\"\n",
    ),
    (
        "Dockerfile",
        "LABEL org.opencontainers.image.vendor=\"Acme Payments\"\n",
    ),
    (".github/workflows/ci.yml", "  RUST_BACKTRACE: \"1\"\n"),
];

/// `update` brings the fixture of `kind` from `release` to this version, keeping every edit,
/// its own code among them (`user_edit` in `user_file`); the project builds, its tests pass,
/// and `check` then passes.
fn upgrades(release: &str, kind: &str, user_file: &str, user_edit: &str) {
    let (_dir, project) = release_fixture(release, kind);
    let user_before = read(&project, user_file);
    assert!(user_before.contains(user_edit), "the fixture has the edit");
    check(&project).code(1);

    let assert = update(&project).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    if release == "0.1.0" {
        // What changed since: CI runs `check`, and images leave the bases out.
        assert!(
            stdout.contains("Merged .github/workflows/ci.yml"),
            "{stdout}"
        );
        assert!(stdout.contains("Updated .dockerignore"), "{stdout}");
    }
    assert!(
        stdout.contains(&format!("from grpc-scaffold {release} to")),
        "{stdout}"
    );

    for (path, edit) in TOOL_EDITS {
        assert!(
            read(&project, path).contains(edit),
            "{kind}: {path} lost `{edit}`"
        );
    }
    assert_eq!(
        read(&project, user_file),
        user_before,
        "{kind}: {user_file} was touched"
    );
    let ci = read(&project, ".github/workflows/ci.yml");
    assert!(ci.contains("- run: grpc-scaffold check"), "{ci}");
    assert!(read(&project, ".dockerignore").contains(".grpc-scaffold/"));
    assert!(read(&project, "grpc-scaffold.toml").contains(concat!(
        "grpc-scaffold = \"",
        env!("CARGO_PKG_VERSION"),
        "\""
    )));

    check(&project).success();
    run(&mut cargo(&project, &["test"]));
}

macro_rules! upgrade {
    ($($name:ident: $kind:literal, $file:literal, $edit:literal;)*) => {$(
        mod $name {
            #[test]
            fn from_0_1_0() {
                super::upgrades("0.1.0", $kind, $file, $edit);
            }

            #[test]
            fn from_0_2_0() {
                super::upgrades("0.2.0", $kind, $file, $edit);
            }
        }
    )*};
}

upgrade! {
    basic_fixture_upgrades: "basic", "src/services/greeting.rs", "tracing::debug!(\"v1 greeting\");";
    custom_fixture_upgrades: "custom", "src/services/catalog.rs", "let name = format!(\"item {id}\");";
    extension_fixture_upgrades: "extension", "src/process.rs", "\"ping\" => Ok(()),";
    streaming_fixture_upgrades: "streaming", "src/services/streaming.rs", "\"stream requested\"";
    tyk_fixture_upgrades: "tyk", "src/hooks.rs", ".pre(\"MyRegionMiddleware\", tag_region)";
    ext_proc_fixture_upgrades: "ext-proc", "src/callout.rs", ".add_header(\"x-team\", \"payments\")";
    ext_proc_l4_fixture_upgrades: "ext-proc-l4", "src/callout.rs", "callout_read_bytes_total";
}

/// A custom project from ff9800e, the first commit that wrote a record (stamped 0.1.0), from
/// before tonic's default stubs, whose user wrote a server-streaming handler the way its
/// templates showed. The new tool's files no longer fit it: `update` says which file and what to
/// change, and once it is changed the project builds and its tests pass.
#[test]
fn an_upgrade_that_breaks_a_handler_names_it_and_what_to_change() {
    let (_dir, project) = upgrade_fixture("custom-streaming");
    let handler = "src/services/catalog.rs";
    let written = read(&project, handler);
    let assert = update(&project).code(1);
    let stderr = stderr(&assert);
    assert!(
        stderr.contains(
            "`src/services/catalog.rs` declares `type ListItemsStream`, which the trait no longer has: delete it, and have `list_items` return `tonic::Response<tonic::codegen::BoxStream<proto::catalog::v1::Item>>`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("names `ReplyStream`"), "{stderr}");
    assert_eq!(
        read(&project, handler),
        written,
        "the user's file was touched"
    );
    check(&project).code(1);

    let changed = written
        .replace(
            "    type ListItemsStream = crate::services::ReplyStream<proto::catalog::v1::Item>;\n\n",
            "",
        )
        .replace(
            "Self::ListItemsStream",
            "tonic::codegen::BoxStream<proto::catalog::v1::Item>",
        );
    assert_ne!(changed, written);
    fs::write(project.join(handler), changed).unwrap();
    check(&project).success();
    run(&mut cargo(&project, &["test"]));
}

/// A project from before the runtime crate moves onto a copy of it: the old core goes, but for a
/// file of it that the user edited, which stays, unbuilt, with a note that names what replaces
/// it. The copy is replaced whole or not at all: an edit to it stops `update`, which then
/// writes nothing.
#[test]
fn a_0_2_0_project_moves_onto_a_vendored_runtime() {
    let (_dir, project) = fixture_copy("0.2.0", "basic");
    let edited = "src/server/calls.rs";
    let calls = format!("{}// Tuned by hand.\n", read(&project, edited));
    fs::write(project.join(edited), &calls).unwrap();

    let assert = update(&project).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains(
            "`src/server/calls.rs` is edited, and the runtime crate now does what it did"
        ) && stdout.contains("`Server::layer`"),
        "{stdout}"
    );
    assert_eq!(read(&project, edited), calls);
    for gone in ["src/server.rs", "src/server/admin.rs", "src/telemetry.rs"] {
        assert!(!project.join(gone).exists(), "{gone} is still there");
    }
    let vendored = "vendor/grpc-scaffold-runtime/Cargo.toml";
    assert!(read(&project, vendored).contains("name = \"grpc-scaffold-runtime\""));
    assert!(read(&project, "Cargo.toml").contains(&format!(
        "grpc-scaffold-runtime = {{ version = \"{}\", path = \"vendor/grpc-scaffold-runtime\", features = [\"client\"] }}",
        env!("CARGO_PKG_VERSION")
    )));
    check(&project).success();
    run(&mut cargo(&project, &["test"]));

    let lib = "vendor/grpc-scaffold-runtime/src/lib.rs";
    fs::write(
        project.join(lib),
        format!("{}// mine\n", read(&project, lib)),
    )
    .unwrap();
    let before = snapshot(&project, &[]);
    let assert = update(&project).code(1);
    let stderr = stderr(&assert);
    assert!(
        stderr.contains("the runtime's copy in `vendor/grpc-scaffold-runtime` was edited")
            && stderr.contains(lib)
            && stderr.contains("`Server::layer`"),
        "{stderr}"
    );
    assert_eq!(snapshot(&project, &[]), before, "update wrote something");
}

/// The README's way onto the published runtime: `runtime = "crates-io"` in the record, then
/// `update`, which drops the copy and the `path` of the dependency.
#[test]
fn a_project_moves_to_the_published_runtime() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    cli()
        .args(["new", "billing", "--kind", "tyk", "-o"])
        .arg(&project)
        .assert()
        .success();
    assert!(project
        .join("vendor/grpc-scaffold-runtime/src/lib.rs")
        .is_file());
    let record = read(&project, "grpc-scaffold.toml")
        .replace("runtime = \"vendor\"", "runtime = \"crates-io\"");
    fs::write(project.join("grpc-scaffold.toml"), record).unwrap();

    update(&project).success();
    assert!(!project.join("vendor").exists());
    let manifest = read(&project, "Cargo.toml");
    assert!(
        manifest.contains(&format!(
            "grpc-scaffold-runtime = {{ version = \"{}\", features = [\"tyk\"] }}",
            env!("CARGO_PKG_VERSION")
        )),
        "{manifest}"
    );
    assert!(read(&project, "grpc-scaffold.toml").contains("runtime = \"crates-io\""));
    check(&project).success();
}

/// Every file below `dir`, with its contents, leaving out `skip`.
fn snapshot(dir: &Path, skip: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_owned();
            if path.is_dir() {
                pending.push(path);
            } else if !skip.iter().any(|s| relative == Path::new(s)) {
                files.push((relative, fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn an_overlapping_edit_gets_conflict_markers_and_nothing_else_changes() {
    // The same fixture twice: one where the user also added a job where the template adds one.
    let (_a, plain) = upgrade_fixture("basic");
    let (_b, edited) = upgrade_fixture("basic");
    let ci = ".github/workflows/ci.yml";
    let mut text = read(&edited, ci);
    text.push_str("\n  audit:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo audit\n");
    fs::write(edited.join(ci), &text).unwrap();

    update(&plain).success();
    let assert = update(&edited).code(1);
    assert_eq!(
        stderr(&assert),
        "error: 1 file has conflicting changes: `.github/workflows/ci.yml`\n\
         help: resolve the `<<<<<<<` markers (keep your lines, the template's, or both), then run `grpc-scaffold update` again to record the result\n"
    );
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("Conflict .github/workflows/ci.yml"),
        "{stdout}"
    );
    assert!(stdout.contains(", 1 with conflict markers\n"), "{stdout}");
    assert!(!stdout.contains("Updated `"), "{stdout}");

    let merged = read(&edited, ci);
    let version = env!("CARGO_PKG_VERSION");
    assert!(merged.contains("<<<<<<< yours\n\n  audit:\n"), "{merged}");
    assert!(
        merged.contains("=======\n\n  # buf's style rules on the protos"),
        "{merged}"
    );
    assert!(
        merged.ends_with(&format!(
            "- run: grpc-scaffold check\n>>>>>>> grpc-scaffold {version}\n"
        )),
        "{merged}"
    );
    assert!(
        merged.contains("  RUST_BACKTRACE: \"1\"\n"),
        "the user's earlier edit is kept"
    );
    assert!(!edited.join(format!("{ci}.rej")).exists());

    // Every other file is just as an update without the overlap leaves it.
    let skip = [ci, "grpc-scaffold.toml"];
    assert!(
        snapshot(&plain, &skip) == snapshot(&edited, &skip),
        "other files differ"
    );

    // Until the markers are resolved, `check` fails; once they are, it passes.
    let assert = check(&edited).code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains(".github/workflows/ci.yml: has unresolved conflict markers"),
        "{stdout}"
    );
    let resolved: String = merged
        .lines()
        .filter(|line| {
            !["<<<<<<<", "=======", ">>>>>>>"]
                .iter()
                .any(|m| line.starts_with(m))
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    fs::write(edited.join(ci), resolved).unwrap();
    // Resolved, the file is a hand edit that `update` keeps; `update` records it.
    check(&edited).success();
    update(&edited).success();
    check(&edited).success();
    assert!(read(&edited, ci).contains("cargo audit"));
}

#[test]
fn deleted_files_stay_deleted_whoever_owns_them() {
    let (_dir, project) = upgrade_fixture("tyk");
    fs::remove_file(project.join("deploy/k8s/optional/hpa.yaml")).unwrap();
    fs::remove_file(project.join("testdata/event.json")).unwrap();
    update(&project).success();
    assert!(!project.join("deploy/k8s/optional/hpa.yaml").exists());
    assert!(!project.join("testdata/event.json").exists());
    check(&project).success();
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let (_dir, project) = upgrade_fixture("streaming");
    let before = snapshot(&project, &[]);
    let assert = cli()
        .args(["update", "--dry-run"])
        .arg(&project)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("--- a/.dockerignore\n+++ b/.dockerignore\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\n+.grpc-scaffold/\n"), "{stdout}");
    assert!(
        stdout.contains("+      - run: grpc-scaffold check\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("dry run: nothing written\n"), "{stdout}");
    assert!(
        snapshot(&project, &[]) == before,
        "a dry run wrote something"
    );
}

#[test]
fn check_lists_each_file_and_why_as_text_and_json() {
    let (_dir, project) = upgrade_fixture("ext-proc");
    let assert = check(&project).code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains(".dockerignore: the template changed\n"),
        "{stdout}"
    );
    // A hand edit under a template change is merged, and says so.
    assert!(
        stdout.contains("Dockerfile: the template changed; your edits are kept\n"),
        "{stdout}"
    );
    // A line per file (the templates decide how many), and the error counts them.
    let listed = stdout
        .lines()
        .filter(|line| !line.starts_with("note: "))
        .count();
    assert!(listed >= 4, "{stdout}");
    assert!(
        stderr(&assert).starts_with(&format!(
            "error: the project is out of date: `grpc-scaffold update` would change {listed} files\n"
        )),
        "{}",
        stderr(&assert)
    );

    let assert = cli()
        .args(["check", "--format", "json"])
        .arg(&project)
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(report["up_to_date"], false);
    let files = report["files"].as_array().unwrap();
    let ignore = files.iter().find(|f| f["path"] == ".dockerignore").unwrap();
    assert_eq!(ignore["action"], "update");
    assert_eq!(ignore["owner"], "tool");
    let dockerfile = files.iter().find(|f| f["path"] == "Dockerfile").unwrap();
    assert_eq!(dockerfile["action"], "merge", "{report:#}");
    assert_eq!(files.len(), listed, "{report:#}");

    // Brought up to date, a hand edit that `update` keeps as it is fails nothing, with a note.
    update(&project).success();
    let dockerfile = project.join("Dockerfile");
    let mut text = fs::read_to_string(&dockerfile).unwrap();
    text.push_str("# Built by the platform team's pipeline\n");
    fs::write(&dockerfile, text).unwrap();
    let assert = check(&project).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("note: `Dockerfile` is edited by hand; `update` keeps it as it is\n"),
        "{stdout}"
    );
}

#[test]
fn update_refuses_a_project_without_a_record_or_from_a_newer_grpc_scaffold() {
    let dir = TempDir::new().unwrap();
    let assert = cli()
        .args(["update"])
        .current_dir(dir.path())
        .assert()
        .code(1);
    assert_eq!(
        stderr(&assert),
        "error: neither `.` nor a folder above it has a `grpc-scaffold.toml`: it was not generated by grpc-scaffold, or its record was deleted\n\
         help: run this inside the project; to start over, generate the project anew with `grpc-scaffold new NAME --force -o DIR`\n"
    );

    let (_dir, project) = upgrade_fixture("basic");
    let record = read(&project, "grpc-scaffold.toml")
        .replace("grpc-scaffold = \"0.1.0\"", "grpc-scaffold = \"99.0.0\"");
    fs::write(project.join("grpc-scaffold.toml"), record).unwrap();
    let before = snapshot(&project, &[]);
    let assert = update(&project).code(1);
    assert!(stderr(&assert).starts_with(&format!(
        "error: the project was written by grpc-scaffold 99.0.0, which is newer than this one ({})\n\
         help: install that version or a later one: `cargo install grpc-scaffold --version 99.0.0`\n",
        env!("CARGO_PKG_VERSION")
    )), "{}", stderr(&assert));
    assert!(snapshot(&project, &[]) == before);
}

/// The generated CI runs `grpc-scaffold check`: its step, run as the workflow runs it, fails on
/// a stale project and passes on a fresh one.
#[test]
fn the_generated_ci_check_fails_on_a_stale_project_and_passes_on_a_fresh_one() {
    let dir = TempDir::new().unwrap();
    cli()
        .args(["new", "billing", "--kind", "basic"])
        .current_dir(dir.path())
        .assert()
        .success();
    let project = dir.path().join("billing");
    let workflow = read(&project, ".github/workflows/ci.yml");
    let step = workflow
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- run: "))
        .find(|command| command.starts_with("grpc-scaffold "))
        .expect("the workflow runs grpc-scaffold");
    assert!(workflow.contains(&format!(
        "cargo install grpc-scaffold --version {} --locked",
        env!("CARGO_PKG_VERSION")
    )));
    let bin = Path::new(env!("CARGO_BIN_EXE_grpc-scaffold"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_owned())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let ci_step = || {
        Command::new("sh")
            .args(["-c", step])
            .current_dir(&project)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    assert!(ci_step().status.success(), "fresh: {:?}", ci_step());

    // A hand edit that `update` keeps as it is: a note, and the step passes.
    let server = "src/config.rs";
    let generated = read(&project, server);
    let edited = format!("{generated}\n// A quick fix, made by hand.\n");
    fs::write(project.join(server), &edited).unwrap();
    let output = ci_step();
    assert!(output.status.success(), "edited: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("note: `src/config.rs` is edited by hand"),
        "{output:?}"
    );

    // A file as an older template wrote it, which `update` would rewrite: the step fails.
    let older = format!("{generated}// As an older template wrote it.\n");
    fs::write(project.join(server), &older).unwrap();
    fs::write(project.join(".grpc-scaffold/base").join(server), &older).unwrap();
    let record = read(&project, "grpc-scaffold.toml").replace(
        &grpc_scaffold::record::sha256(&generated),
        &grpc_scaffold::record::sha256(&older),
    );
    fs::write(project.join("grpc-scaffold.toml"), record).unwrap();
    let output = ci_step();
    assert_eq!(output.status.code(), Some(1), "stale: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("src/config.rs: the template changed"),
        "{output:?}"
    );
}

/// A custom project follows its protos: a new RPC of each shape and a new service in another
/// package, one RPC removed. The new RPCs answer UNIMPLEMENTED through grpcurl, the new service
/// is listed, the removed RPC is reported, and the user's handler still answers.
#[test]
fn custom_follows_its_protos() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("catalog");
    cli()
        .args(["new", "upgrade-protos", "--runtime"])
        .arg(runtime_dir())
        .arg("-I")
        .arg(fixture("catalog"))
        .arg("--proto")
        .arg(fixture("catalog/catalog/v1/catalog.proto"))
        .arg("-o")
        .arg(&project)
        .assert()
        .success();
    // The user implements GetItem.
    let service = project.join("src/services/catalog.rs");
    let handler = read(&project, "src/services/catalog.rs")
        .replace(
            "use crate::proto::catalog::v1::catalog_server;",
            "use crate::proto::catalog::v1::{GetItemRequest, Item, catalog_server};",
        )
        .replace(
            "impl catalog_server::Catalog for Catalog {\n",
            "impl catalog_server::Catalog for Catalog {\n    async fn get_item(\n        &self,\n        request: tonic::Request<GetItemRequest>,\n    ) -> Result<tonic::Response<Item>, tonic::Status> {\n        let id = request.into_inner().id;\n        Ok(tonic::Response::new(Item { name: format!(\"item {id}\"), id }))\n    }\n\n",
        );
    fs::write(&service, &handler).unwrap();
    check(&project).success();
    // The user writes a handler of Rename (a placeholder of their own) as the RPC goes in.
    let handler = handler.replace(
        "impl catalog_server::Catalog for Catalog {\n",
        "impl catalog_server::Catalog for Catalog {\n    async fn rename(\n        &self,\n        _request: tonic::Request<Item>,\n    ) -> Result<tonic::Response<Item>, tonic::Status> {\n        Err(tonic::Status::unimplemented(\"renaming comes next quarter\"))\n    }\n\n",
    );

    // An RPC of each shape in, RetireItem out, and a new service in another package.
    let proto = project.join("proto/catalog/v1/catalog.proto");
    let text = read(&project, "proto/catalog/v1/catalog.proto").replace(
        "  rpc RetireItem(GetItemRequest) returns (Item);\n",
        "  rpc Rename(Item) returns (Item);\n  rpc Watch(GetItemRequest) returns (stream Item);\n  rpc Import(stream Item) returns (ListItemsRequest);\n  rpc Sync(stream Item) returns (stream Item);\n",
    );
    fs::write(&proto, text).unwrap();
    fs::write(&service, &handler).unwrap();
    fs::create_dir_all(project.join("proto/stock/v1")).unwrap();
    fs::write(
        project.join("proto/stock/v1/stock.proto"),
        "syntax = \"proto3\";\npackage stock.v1;\nimport \"catalog/v1/catalog.proto\";\n\
         service Stock { rpc Count(catalog.v1.GetItemRequest) returns (Level); }\n\
         message Level { uint32 units = 1; }\n",
    )
    .unwrap();

    let assert = check(&project).code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("src/services/stock.rs: new, and yours from now on"),
        "{stdout}"
    );
    assert!(
        stdout.contains("src/services/mod.rs: the template changed"),
        "{stdout}"
    );

    let assert = update(&project).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("note: `/catalog.v1.Catalog/RetireItem` is gone from the protos; if `src/services/catalog.rs` has a handler for it, delete it"),
        "{stdout}"
    );
    assert!(stdout.contains("note: `/catalog.v1.Catalog/Sync` is new: it answers UNIMPLEMENTED until you write its handler in `src/services/catalog.rs`"), "{stdout}");
    assert!(
        !stdout.contains("Rename` is new"),
        "its handler exists: {stdout}"
    );
    assert!(stdout.contains("Created src/services/stock.rs"), "{stdout}");
    assert_eq!(
        read(&project, "src/services/catalog.rs"),
        handler,
        "the user's file is theirs"
    );
    assert!(
        read(&project, "tests/services.rs").contains("\"stock.v1.Stock\""),
        "the tests follow the protos"
    );
    check(&project).success();

    run(&mut cargo(&project, &["test"]));
    assert_catalog_served();

    // A changed signature is a compile error that names the method.
    let text = read(&project, "proto/catalog/v1/catalog.proto").replace(
        "rpc GetItem(GetItemRequest) returns (Item);",
        "rpc GetItem(ListItemsRequest) returns (Item);",
    );
    fs::write(&proto, text).unwrap();
    let output = cargo(&project, &["build", "--lib"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("method `get_item` has an incompatible type for trait"),
        "{stderr}"
    );
}

/// The built `upgrade-protos` server serves the new service, answers the user's `GetItem`, and
/// UNIMPLEMENTED for every new RPC; `RetireItem` is gone.
fn assert_catalog_served() {
    let server = Server::start(&binary("upgrade-protos-server"), &[]);
    let listed = grpcurl(server.address, &["list"]);
    for service in ["catalog.v1.Catalog", "stock.v1.Stock"] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing:\n{listed}"
        );
    }
    let reply = grpcurl(
        server.address,
        &["-d", r#"{"id":"42"}"#, "catalog.v1.Catalog/GetItem"],
    );
    assert!(reply.contains(r#""name": "item 42""#), "{reply}");
    for method in [
        "catalog.v1.Catalog/Rename",
        "catalog.v1.Catalog/Watch",
        "catalog.v1.Catalog/Import",
        "catalog.v1.Catalog/Sync",
        "stock.v1.Stock/Count",
    ] {
        let failed = call_failing(&server, method);
        assert!(failed.contains("Code: Unimplemented"), "{method}: {failed}");
    }
    let failed = call_failing(&server, "catalog.v1.Catalog/RetireItem");
    assert!(
        failed.contains("does not include a method named \"RetireItem\""),
        "{failed}"
    );
    let (status, logs) = server.terminate(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// The standard error of a grpcurl call of `method` (with an empty message), which must fail.
fn call_failing(server: &Server, method: &str) -> String {
    let output = Command::new(tool("grpcurl"))
        .args(["-plaintext", "-d", "{}"])
        .arg(server.address.to_string())
        .arg(method)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{method} answered");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A text of numbered lines, some edited by the user and some by the template.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize),
    Replace(usize, String),
}

fn apply(base: &[String], edits: &[Edit]) -> Vec<String> {
    let mut lines = base.to_vec();
    for edit in edits {
        match edit {
            Edit::Insert(at, line) => lines.insert(at % (lines.len() + 1), line.clone()),
            Edit::Delete(at) if !lines.is_empty() => {
                let at = at % lines.len();
                lines.remove(at);
            }
            Edit::Replace(at, line) if !lines.is_empty() => {
                let at = at % lines.len();
                lines[at].clone_from(line);
            }
            _ => {}
        }
    }
    lines
}

fn edits(tag: &'static str) -> impl Strategy<Value = Vec<Edit>> {
    let line = (0..1000u32).prop_map(move |n| format!("{tag} line {n}"));
    let edit = prop_oneof![
        (any::<usize>(), line.clone()).prop_map(|(at, l)| Edit::Insert(at, l)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), line).prop_map(|(at, l)| Edit::Replace(at, l)),
    ];
    prop::collection::vec(edit, 0..6)
}

fn text(lines: &[String]) -> String {
    lines
        .iter()
        .flat_map(|line| [line.as_str(), "\n"])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random edits of the user and of the template never lose a line the user wrote, unless
    /// the file says so with a conflict marker.
    #[test]
    fn a_merge_never_loses_a_user_line_without_a_conflict_marker(
        base in prop::collection::vec("[a-c]{1,2}", 0..12),
        yours in edits("yours"),
        theirs in edits("template"),
    ) {
        let base: Vec<String> = base.into_iter().map(|l| format!("base {l}")).collect();
        let user = apply(&base, &yours);
        let template = apply(&base, &theirs);
        let merged = merge::merge(&text(&base), &text(&user), &text(&template));
        match merged {
            Merged::Clean(merged) => {
                let merged: Vec<&str> = merged.lines().collect();
                for line in user.iter().filter(|line| line.starts_with("yours")) {
                    prop_assert!(merged.contains(&line.as_str()), "lost `{}`: {:?}", line, merged);
                }
                for line in template.iter().filter(|line| line.starts_with("template")) {
                    prop_assert!(merged.contains(&line.as_str()), "lost `{}`: {:?}", line, merged);
                }
            }
            Merged::Conflict(merged) => {
                prop_assert!(merge::has_conflict_markers(&merged));
                let merged: Vec<&str> = merged.lines().collect();
                for line in user.iter().filter(|line| line.starts_with("yours")) {
                    prop_assert!(merged.contains(&line.as_str()), "lost `{}`: {:?}", line, merged);
                }
            }
        }
    }
}

/// A kind whose protos are the user's (here `basic`) serves a service added to them: `update`
/// gives it a module of the user's and its registration, beside the kind's own services.
#[test]
fn a_service_added_to_a_kinds_protos_is_served() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("ledger");
    cli()
        .args(["new", "extra-service", "--kind", "basic", "--runtime"])
        .arg(runtime_dir())
        .arg("-o")
        .arg(&project)
        .assert()
        .success();
    fs::create_dir_all(project.join("proto/billing/v1")).unwrap();
    fs::write(
        project.join("proto/billing/v1/billing.proto"),
        "syntax = \"proto3\";\npackage billing.v1;\n\
         service Invoices { rpc GetInvoice(InvoiceRequest) returns (Invoice); }\n\
         message InvoiceRequest { string id = 1; }\nmessage Invoice { string id = 1; }\n",
    )
    .unwrap();

    let assert = update(&project).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("Created src/services/invoices.rs (new, and yours from now on)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Updated src/services/mod.rs (the template changed)"),
        "{stdout}"
    );
    let registration = read(&project, "src/services/mod.rs");
    assert!(registration.contains("pub mod invoices;"), "{registration}");
    assert!(
        registration.contains("InvoicesServer::new(invoices::Invoices)"),
        "{registration}"
    );
    check(&project).success();

    run(&mut cargo(&project, &["build", "--bins"]));
    let server = Server::start(&binary("extra-service-server"), &[]);
    let listed = grpcurl(server.address, &["list"]);
    for service in [
        "billing.v1.Invoices",
        "extra_service.greeting.v1.GreetingService",
    ] {
        assert!(
            listed.lines().any(|l| l == service),
            "{service} missing:\n{listed}"
        );
    }
    let hello = grpcurl(
        server.address,
        &["extra_service.greeting.v1.GreetingService/SayHello"],
    );
    assert!(hello.contains("Hello World"), "{hello}");
    let failed = call_failing(&server, "billing.v1.Invoices/GetInvoice");
    assert!(failed.contains("Code: Unimplemented"), "{failed}");
    let (status, logs) = server.terminate(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// What a user does every day fails no `check`: a dependency added, a Dockerfile line, a file
/// deleted (a note, with the way back), a run from a subfolder. A deleted module that a tool's
/// file declares, or a renamed package, fails with what to do.
#[test]
fn ordinary_edits_keep_check_quiet_and_breakage_is_named() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("shop");
    cli()
        .args(["new", "shop", "--kind", "basic", "-o"])
        .arg(&project)
        .assert()
        .success();
    let stdout = |assert: &assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
    };
    let fresh = "Fresh `shop` (basic) is up to date with grpc-scaffold";
    assert!(stdout(&check(&project).success()).contains(fresh));

    let manifest = read(&project, "Cargo.toml")
        .replace("[dependencies]\n", "[dependencies]\nonce_cell = \"1\"\n");
    fs::write(project.join("Cargo.toml"), manifest).unwrap();
    let mut dockerfile = read(&project, "Dockerfile");
    dockerfile.push_str("LABEL team=\"payments\"\n");
    fs::write(project.join("Dockerfile"), dockerfile).unwrap();
    fs::remove_file(project.join(".github/workflows/ci.yml")).unwrap();
    let assert = cli()
        .arg("check")
        .current_dir(project.join("src/services"))
        .assert()
        .success();
    let text = stdout(&assert);
    assert!(
        text.contains("note: `Cargo.toml` is edited by hand; `update` keeps it as it is\n"),
        "{text}"
    );
    assert!(
        text.contains("note: `Dockerfile` is edited by hand"),
        "{text}"
    );
    assert!(
        text.contains("note: `.github/workflows/ci.yml` was deleted, and stays deleted; to get it back, remove its line from `grpc-scaffold.toml`"),
        "{text}"
    );
    assert!(text.contains(fresh), "{text}");

    // A deleted module that the tool's `mod.rs` declares breaks the build.
    fs::remove_file(project.join("src/services/greeting.rs")).unwrap();
    let assert = check(&project).code(1);
    assert!(
        stderr(&assert).contains(
            "the project will not build: `src/services/greeting.rs` was deleted, but `src/services/mod.rs` still declares `mod greeting;`"
        ),
        "{}",
        stderr(&assert)
    );
    // The documented way back.
    let record = read(&project, "grpc-scaffold.toml");
    let record: String = record
        .lines()
        .filter(|line| !line.starts_with("\"src/services/greeting.rs\""))
        .flat_map(|line| [line, "\n"])
        .collect();
    fs::write(project.join("grpc-scaffold.toml"), record).unwrap();
    let assert = update(&project).success();
    assert!(
        stdout(&assert).contains("Created src/services/greeting.rs"),
        "{}",
        stdout(&assert)
    );
    check(&project).success();

    // A renamed package is refused, and nothing is written.
    let renamed = read(&project, "Cargo.toml").replace("name = \"shop\"", "name = \"shop-svc\"");
    fs::write(project.join("Cargo.toml"), renamed).unwrap();
    let before = snapshot(&project, &[]);
    for args in [["check"], ["update"]] {
        let assert = cli().args(args).arg(&project).assert().code(1);
        assert!(
            stderr(&assert).contains(
                "the package is `shop-svc` in `Cargo.toml`, but grpc-scaffold generated it as `shop`"
            ),
            "{}",
            stderr(&assert)
        );
    }
    assert!(
        snapshot(&project, &[]) == before,
        "a refusal wrote something"
    );

    // An error is JSON too, for CI.
    let assert = cli()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(report["up_to_date"], false);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("grpc-scaffold.toml"),
        "{report}"
    );
    assert!(report["help"].is_string(), "{report}");
}

/// A proto of a custom project moved to another folder: `check` passes with a note, and `update`
/// says that it rewrites only the record, then that the project is up to date.
#[test]
fn a_moved_proto_is_recorded_and_reported_alike() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("shop");
    cli()
        .args(["new", "shop", "--proto"])
        .arg(fixture("catalog/catalog/v1/catalog.proto"))
        .arg("-I")
        .arg(fixture("catalog"))
        .arg("-o")
        .arg(&project)
        .assert()
        .success();
    fs::create_dir_all(project.join("proto/moved")).unwrap();
    fs::rename(
        project.join("proto/catalog/v1/catalog.proto"),
        project.join("proto/moved/catalog.proto"),
    )
    .unwrap();
    let stdout = |assert: assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
    };
    let gone = "note: `proto/catalog/v1/catalog.proto` is gone, and leaves `grpc-scaffold.toml`";
    let checked = stdout(check(&project).success());
    assert!(checked.contains(gone), "{checked}");
    assert!(
        checked.contains("`grpc-scaffold update` would rewrite only `grpc-scaffold.toml`"),
        "{checked}"
    );
    let updated = stdout(update(&project).success());
    assert!(updated.contains(gone), "{updated}");
    assert!(
        updated.contains("Recorded `shop` (custom): no file changed"),
        "{updated}"
    );
    assert!(read(&project, "grpc-scaffold.toml").contains("\"proto/moved/catalog.proto\""));
    let again = stdout(update(&project).success());
    assert!(
        again.contains("Fresh `shop` (custom) is up to date"),
        "{again}"
    );
    assert!(!again.contains(gone), "{again}");
}
