//! The command line: help, listing, completions, and every way `new` can be refused, each with
//! its exit code, its message, and nothing written.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use tempfile::TempDir;

use crate::support::{cli, stderr, tree};

#[test]
fn help_shows_examples() {
    cli()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains(
            "grpc-scaffold new billing --kind basic",
        ));
    cli()
        .args(["new", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--dry-run"))
        .stdout(predicate::str::contains("--force"));
}

#[test]
fn version() {
    cli()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("grpc-scaffold {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn list_shows_every_kind_with_a_summary() {
    let assert = cli().arg("list").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for kind in grpc_scaffold::Kind::all() {
        let line = stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(kind.id()))
            .unwrap_or_else(|| panic!("`{kind}` is not listed:\n{stdout}"));
        assert!(line.len() > kind.id().len() + 10, "no summary: {line}");
    }
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef"),
        ("fish", "complete -c"),
    ] {
        cli()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker))
            .stdout(predicate::str::contains("dry-run"));
    }
}

#[test]
fn invalid_names_are_refused_with_a_suggestion() {
    // (name, part of the reason, the suggested name)
    let table = [
        ("fn", "Rust keyword", "fn-service"),
        ("1st", "cannot start with a digit", "svc-1st"),
        (
            "test",
            "shadow Rust's built-in `test` crate",
            "test-service",
        ),
        ("a/b", "cannot contain a path", "b"),
        ("..", "cannot contain a path", "my-service"),
        ("", "cannot be empty", "my-service"),
        ("Billing", "must be lowercase", "billing"),
        ("bad name", "character ` ` is not allowed", "bad-name"),
    ];
    for (name, reason, suggestion) in table {
        let dir = TempDir::new().unwrap();
        let assert = cli()
            .current_dir(dir.path())
            .args(["new", name])
            .assert()
            .code(1);
        let stderr = stderr(&assert);
        assert!(
            stderr.starts_with(&format!("error: invalid project name `{name}`: ")),
            "{stderr}"
        );
        assert!(stderr.contains(reason), "{name:?}: {stderr}");
        assert!(
            stderr.contains(&format!("help: a valid name would be `{suggestion}`")),
            "{name:?}: {stderr}"
        );
        assert!(tree(dir.path()).is_empty(), "{name:?} wrote files");
    }
}

#[test]
fn unknown_kind_is_a_usage_error_listing_the_kinds() {
    let dir = TempDir::new().unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "demo", "--kind", "grpc-web"])
        .assert()
        .code(2);
    let stderr = stderr(&assert);
    assert!(
        stderr.contains("invalid value 'grpc-web' for '--kind <KIND>'"),
        "{stderr}"
    );
    for kind in grpc_scaffold::Kind::all() {
        assert!(
            stderr.contains(kind.id()),
            "{kind} is not offered: {stderr}"
        );
    }
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn new_writes_the_project_and_says_what_next() {
    let dir = TempDir::new().unwrap();
    cli()
        .current_dir(dir.path())
        .args(["new", "billing"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Created basic project `billing` at `billing`",
        ))
        .stdout(predicate::str::contains("cd billing\n  make run"));
    let files = tree(&dir.path().join("billing"));
    assert!(files.iter().any(|f| f.ends_with("Cargo.toml")));
    assert!(
        !tree(dir.path())
            .iter()
            .any(|f| f.to_string_lossy().contains(".grpc-scaffold-")),
        "the staging directory was left behind"
    );
}

#[test]
fn output_chooses_the_directory_and_creates_parents() {
    let dir = TempDir::new().unwrap();
    cli()
        .current_dir(dir.path())
        .args(["new", "billing", "-o", "services/billing-api"])
        .assert()
        .success();
    assert!(dir.path().join("services/billing-api/Cargo.toml").is_file());
}

#[test]
fn dry_run_lists_files_with_sizes_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--dry-run"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let cargo_toml = stdout
        .lines()
        .find(|line| line.ends_with(" Cargo.toml"))
        .unwrap_or_else(|| panic!("Cargo.toml is not listed:\n{stdout}"));
    let size: usize = cargo_toml
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let rendered = crate::support::render("billing", grpc_scaffold::Kind::Basic);
    assert_eq!(size, rendered[std::path::Path::new("Cargo.toml")].len());
    assert!(stdout.contains("dry run: nothing written"), "{stdout}");
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn a_non_empty_destination_is_refused_without_force() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    fs::create_dir(&project).unwrap();
    fs::write(project.join("notes.txt"), "mine").unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing"])
        .assert()
        .code(1);
    assert_eq!(
        stderr(&assert),
        "error: destination `billing` already exists and is not empty\n\
         help: choose another directory with `--output`, or pass `--force` to overwrite the \
         generated files\n"
    );
    assert_eq!(tree(&project), [PathBuf::from("notes.txt")]);
    // A dry run is refused the same way: it reports what a real run would do.
    cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--dry-run"])
        .assert()
        .code(1);
}

#[test]
fn an_empty_destination_is_used() {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("billing")).unwrap();
    cli()
        .current_dir(dir.path())
        .args(["new", "billing"])
        .assert()
        .success();
    assert!(dir.path().join("billing/Cargo.toml").is_file());
}

#[test]
fn force_overwrites_unedited_files_refuses_edited_ones_and_keeps_the_rest() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    cli()
        .current_dir(dir.path())
        .args(["new", "billing"])
        .assert()
        .success();
    let generated = tree(&project);
    fs::write(project.join("notes.txt"), "mine").unwrap();
    fs::remove_file(project.join("Makefile")).unwrap();
    fs::write(project.join("Cargo.toml"), "edited").unwrap();
    let before = contents(&project);

    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--force"])
        .assert()
        .code(1);
    assert_eq!(
        stderr(&assert),
        "error: `new --force` would overwrite `Cargo.toml`, which has changes of yours\n\
         help: run `grpc-scaffold update` instead: it brings the project forward and keeps your edits\n"
    );
    assert_eq!(contents(&project), before, "nothing was written");

    fs::remove_file(project.join("Cargo.toml")).unwrap();
    cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--force"])
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(project.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(fs::read_to_string(project.join("Makefile"))
        .unwrap()
        .contains("run:"));
    let mut expected = generated;
    expected.push("notes.txt".into());
    expected.sort();
    assert_eq!(
        tree(&project),
        expected,
        "only generated files and the user's remain"
    );
}

#[test]
fn force_without_a_record_refuses_every_file_that_differs() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    fs::create_dir(&project).unwrap();
    fs::write(project.join("Dockerfile"), "FROM scratch\n").unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--force"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("would overwrite `Dockerfile`"),
        "{}",
        stderr(&assert)
    );
    assert!(stderr(&assert).contains("move those files away first"));
    assert_eq!(tree(&project), [PathBuf::from("Dockerfile")]);
}

/// A `deploy` that links to `/proc`, where nothing may be written, is refused before any file is
/// written: no link in a project is followed. (The roll-back of a write that fails half-way is
/// tested in `write.rs`.)
#[test]
fn force_into_a_linked_folder_leaves_every_file_as_it_was() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--kind", "basic"])
        .assert()
        .success();
    fs::remove_dir_all(project.join("deploy")).unwrap();
    std::os::unix::fs::symlink("/proc/self", project.join("deploy")).unwrap();
    fs::write(project.join("notes.txt"), "mine").unwrap();
    fs::remove_file(project.join("Makefile")).unwrap();
    let before = contents(&project);

    // Another kind replaces most files, all of them unedited.
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--kind", "tyk", "--force"])
        .assert()
        .code(1);
    assert!(
        stderr(&assert).contains("deploy` is a symbolic link"),
        "{}",
        stderr(&assert)
    );
    assert_eq!(contents(&project), before, "every file is as it was");
}

/// Every file below `dir` that is not under a symbolic link, with its contents.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let relative = path.strip_prefix(dir).unwrap().to_owned();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                files.push((relative, fs::read(&path).unwrap()));
            } else {
                files.push((relative, b"(link)".to_vec()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn force_refuses_a_directory_where_a_file_goes_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let project = dir.path().join("billing");
    fs::create_dir_all(project.join("Cargo.toml")).unwrap();
    fs::write(project.join("notes.txt"), "mine").unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--force"])
        .assert()
        .code(1);
    assert!(stderr(&assert).contains("a directory stands where a generated file goes"));
    assert_eq!(tree(&project), [PathBuf::from("notes.txt")]);
}

#[test]
fn a_file_as_destination_is_refused() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("billing"), "a file").unwrap();
    let assert = cli()
        .current_dir(dir.path())
        .args(["new", "billing", "--force"])
        .assert()
        .code(1);
    assert_eq!(
        stderr(&assert),
        "error: destination `billing` exists and is not a directory\n\
         help: choose another directory with `--output`\n"
    );
}

/// `/proc` refuses new directories even to root, so this fails the same for every user.
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_destination_is_refused() {
    let assert = cli()
        .args(["new", "billing", "-o", "/proc/grpc-scaffold-test/billing"])
        .assert()
        .code(1);
    let stderr = stderr(&assert);
    assert!(
        stderr.starts_with("error: failed to create `/proc/grpc-scaffold-test`: "),
        "{stderr}"
    );
    assert!(stderr.contains("\nhelp: "), "{stderr}");
    assert!(!std::path::Path::new("/proc/grpc-scaffold-test").exists());
}

mod custom {
    use super::*;
    use crate::support::fixture;

    /// `new` with these arguments fails with exit 1, writes nothing; its plain stderr.
    fn refused(args: &[&str]) -> String {
        let dir = TempDir::new().unwrap();
        let assert = cli()
            .current_dir(fixture(""))
            .args(["new", "svc", "-o"])
            .arg(dir.path().join("svc"))
            .args(args)
            .assert()
            .code(1);
        assert!(tree(dir.path()).is_empty(), "{args:?} wrote files");
        stderr(&assert)
    }

    #[test]
    fn proto_implies_the_custom_kind() {
        let dir = TempDir::new().unwrap();
        cli()
            .current_dir(fixture("tricky"))
            .args(["new", "svc", "--proto", "api/v2/greeter.proto", "-o"])
            .arg(dir.path().join("svc"))
            .assert()
            .success()
            .stdout(predicate::str::contains("Created custom project `svc`"));
        let project = dir.path().join("svc");
        assert!(
            project.join("proto/greeter.proto").is_file(),
            "{:?}",
            tree(&project)
        );
        assert!(project.join("src/services/greeter.rs").is_file());
    }

    #[test]
    fn a_syntax_error_shows_file_line_column_and_snippet() {
        let stderr = refused(&["--proto", "errors/syntax.proto"]);
        assert!(
            stderr.starts_with("error: failed to compile `errors/syntax.proto`"),
            "{stderr}"
        );
        assert!(stderr.contains("[syntax.proto:7:1]"), "{stderr}");
        assert!(
            stderr.contains("rpc Get(Request) returns (Reply)"),
            "{stderr}"
        );
    }

    #[test]
    fn a_missing_import_names_it_the_include_dirs_and_the_import_line() {
        let stderr = refused(&[
            "--proto",
            "errors/missing_import.proto",
            "-I",
            "errors",
            "-I",
            "tricky/api",
        ]);
        assert!(
            stderr.starts_with(
                "error: import `shared/money.proto` not found; searched `errors`, `tricky/api`\n"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("─[missing_import.proto:5:1]"), "{stderr}");
        assert!(stderr.contains("imported here"), "{stderr}");
        assert!(
            stderr.ends_with("help: pass the directory that holds it with `-I DIR`\n"),
            "{stderr}"
        );
    }

    #[test]
    fn a_file_without_a_service_says_so() {
        let stderr = refused(&["--proto", "errors/no_service.proto"]);
        assert!(
            stderr.starts_with("error: `errors/no_service.proto` defines no service\n"),
            "{stderr}"
        );
    }

    #[test]
    fn a_missing_proto_is_named() {
        let stderr = refused(&["--proto", "errors/nope.proto"]);
        assert!(
            stderr.starts_with("error: cannot read the proto file `errors/nope.proto`: "),
            "{stderr}"
        );
        assert!(
            stderr.contains("help: check the path given to `--proto`"),
            "{stderr}"
        );
    }

    #[test]
    fn a_proto_outside_the_include_dirs_is_refused() {
        let stderr = refused(&["--proto", "errors/collision.proto", "-I", "tricky"]);
        assert!(
            stderr.starts_with(
                "error: the proto file `errors/collision.proto` is not under any include directory"
            ),
            "{stderr}"
        );
    }

    #[test]
    fn names_that_collide_in_rust_are_reported() {
        let stderr = refused(&["--proto", "errors/collision.proto"]);
        assert_eq!(
            stderr,
            "error: methods `broken.v1.Api/GetURL` and `broken.v1.Api/GetUrl` both become \
             `get_url` in Rust\nhelp: rename one of them in the proto file\n"
        );
    }

    #[test]
    fn a_wrapper_type_as_a_whole_request_is_refused() {
        let stderr = refused(&["--proto", "errors/wrapper_rpc.proto"]);
        assert_eq!(
            stderr,
            "error: `broken.v1.Api/Get` takes or returns `google.protobuf.StringValue`, which \
             prost turns into a Rust primitive\nhelp: wrap it in a message of your own, as a field\n"
        );
    }

    #[test]
    fn custom_needs_a_proto_and_other_kinds_refuse_one() {
        let stderr = refused(&["--kind", "custom"]);
        assert!(
            stderr.starts_with("error: the `custom` kind needs at least one `--proto` file"),
            "{stderr}"
        );
        let stderr = refused(&["--kind", "tyk", "--proto", "tricky/api/shop.proto"]);
        assert!(
            stderr.starts_with("error: `--proto` cannot be used with `--kind tyk`"),
            "{stderr}"
        );
    }
}

#[test]
fn a_name_that_shadows_a_dependency_is_refused_with_a_suggestion() {
    for (name, kind, dependency) in [
        ("tonic", "basic", "tonic"),
        ("tokio", "tyk", "tokio"),
        ("serde", "extension", "serde"),
        ("envoy-types", "ext-proc", "envoy-types"),
        ("metrics", "streaming", "metrics"),
    ] {
        let dir = TempDir::new().unwrap();
        let assert = cli()
            .current_dir(dir.path())
            .args(["new", name, "--kind", kind])
            .assert()
            .code(1);
        assert_eq!(
            stderr(&assert),
            format!(
                "error: invalid project name `{name}`: it is the name of the `{dependency}` crate, which the project depends on\n\
                 help: a crate cannot depend on a crate of its own name; try `{name}-service`\n"
            )
        );
        assert_eq!(
            tree(dir.path()),
            Vec::<PathBuf>::new(),
            "{name}: nothing written"
        );
    }
}
