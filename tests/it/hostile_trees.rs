//! Projects written by an attacker: links at every position the commands touch, and records
//! whose paths leave the project. Each tree goes through `new --force`, `check`,
//! `update --dry-run` and `update`; a folder outside the project must come out byte for byte as
//! it went in, no command may print what it holds, and each command must say why it refused.
//! A property test then builds random hostile trees and records and asserts the same.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use grpc_scaffold::cli::Cli;
use grpc_scaffold::record;
use proptest::prelude::*;
use tempfile::TempDir;

use crate::support::{cli, copy_tree};

/// What the victim's secret file holds; no command may print it.
const SECRET: &str = "SECRET=hunter2-outside-the-project";

/// A project generated once, to copy into each case.
fn pristine() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        cli()
            .args(["new", "demo", "--kind", "basic", "-o"])
            .arg(dir.path().join("demo"))
            .assert()
            .success();
        dir
    })
    .path()
}

/// A case: the project at `project`, and a folder beside it that no command may touch.
struct Case {
    _dir: TempDir,
    project: PathBuf,
    victim: PathBuf,
}

impl Case {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let project = dir.path().join("demo");
        copy_tree(&pristine().join("demo"), &project);
        let victim = dir.path().join("victim");
        fs::create_dir_all(victim.join("nested")).unwrap();
        fs::write(victim.join("outside.txt"), "a file of someone else's\n").unwrap();
        fs::write(victim.join("secret.env"), format!("{SECRET}\n")).unwrap();
        fs::write(victim.join("nested/Cargo.toml"), "[package]\n").unwrap();
        Self {
            _dir: dir,
            project,
            victim,
        }
    }

    /// Replace `path` in the project (a file or a folder) with a link to `target` in the victim.
    fn link(&self, path: &str, target: &str) {
        let at = self.project.join(path);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&at).unwrap(),
            Ok(_) => fs::remove_file(&at).unwrap(),
            Err(_) => fs::create_dir_all(at.parent().unwrap()).unwrap(),
        }
        symlink(self.victim.join(target), &at).unwrap();
    }

    /// Add an entry for `path` to the record, with the SHA-256 of `contents`, unless it has one;
    /// whether it was added.
    fn record_entry(&self, path: &str, contents: &str) -> bool {
        let file = self.project.join(record::RECORD);
        if fs::symlink_metadata(&file).unwrap().is_symlink() {
            return false;
        }
        let mut text = fs::read_to_string(&file).unwrap();
        let key = format!("{path:?} = ");
        if text.contains(&key) {
            return false;
        }
        let _ = writeln!(
            text,
            "{path:?} = {{ owner = \"tool\", sha256 = \"{}\" }}",
            record::sha256(contents)
        );
        fs::write(file, text).unwrap();
        true
    }
}

/// Every entry under `dir`, links as links, with what each file holds.
fn contents(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let kind = fs::symlink_metadata(&path).unwrap().file_type();
            let held = if kind.is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display())
            } else if kind.is_dir() {
                pending.push(path.clone());
                "/".to_owned()
            } else {
                String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned()
            };
            out.push((path.strip_prefix(dir).unwrap().to_owned(), held));
        }
    }
    out.sort();
    out
}

/// The four commands, each on a fresh copy of the hostile tree that `make` builds: each must
/// fail, say `why`, print nothing of the victim's, and leave the victim as it was.
fn refused_by_every_command(make: impl Fn(&Case), why: &str) {
    let commands: [&[&str]; 4] = [
        &["new", "demo", "--kind", "basic", "--force", "-o"],
        &["check"],
        &["update", "--dry-run"],
        &["update"],
    ];
    for args in commands {
        let case = Case::new();
        make(&case);
        let before = contents(&case.victim);
        let output = cli().args(args).arg(&case.project).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = format!("{args:?}\nstdout: {stdout}\nstderr: {stderr}");
        assert!(!output.status.success(), "{shown}");
        assert!(stderr.contains(why), "wanted `{why}` in {shown}");
        assert!(
            !stdout.contains(SECRET) && !stderr.contains(SECRET),
            "{shown}"
        );
        assert_eq!(contents(&case.victim), before, "{shown}");
    }
}

const LINK: &str = "is a symbolic link, which grpc-scaffold does not follow";

#[test]
fn a_linked_base_is_refused() {
    refused_by_every_command(|case| case.link(".grpc-scaffold/base", ""), LINK);
    refused_by_every_command(|case| case.link(".grpc-scaffold", ""), LINK);
}

#[test]
fn a_linked_folder_of_the_project_is_refused() {
    refused_by_every_command(|case| case.link("src", ""), LINK);
    refused_by_every_command(|case| case.link("deploy/k8s", "nested"), LINK);
    refused_by_every_command(|case| case.link("proto", "nested"), LINK);
}

#[test]
fn a_linked_file_is_refused_and_never_read() {
    // A tool's file, a user's file, the record, and a base.
    refused_by_every_command(|case| case.link("Dockerfile", "secret.env"), LINK);
    refused_by_every_command(|case| case.link("README.md", "secret.env"), LINK);
    refused_by_every_command(|case| case.link("grpc-scaffold.toml", "secret.env"), LINK);
    refused_by_every_command(
        |case| case.link(".grpc-scaffold/base/Makefile", "secret.env"),
        LINK,
    );
    refused_by_every_command(
        |case| case.link("proto/demo/greeting/v1/greeting.proto", "secret.env"),
        LINK,
    );
}

#[test]
fn a_linked_project_folder_is_refused() {
    refused_by_every_command(
        |case| {
            fs::remove_dir_all(&case.project).unwrap();
            copy_tree(&pristine().join("demo"), &case.victim.join("demo"));
            symlink(case.victim.join("demo"), &case.project).unwrap();
        },
        LINK,
    );
}

#[test]
fn a_record_entry_outside_the_project_is_refused_by_name() {
    let outside = "a file of someone else's\n";
    for path in [
        "../victim/outside.txt",
        "/etc/hostname",
        "src/../../victim/outside.txt",
    ] {
        refused_by_every_command(
            |case| assert!(case.record_entry(path, outside)),
            &format!("the entry `{path}`"),
        );
    }
    // Another spelling of a file that the record already names.
    for path in ["./Makefile", "src//lib.rs", "src/"] {
        refused_by_every_command(
            |case| assert!(case.record_entry(path, "")),
            &format!("the entry `{path}`"),
        );
    }
    refused_by_every_command(
        |case| assert!(case.record_entry(".grpc-scaffold/base/Makefile", "")),
        "grpc-scaffold's own record",
    );
}

#[test]
fn a_huge_record_is_refused_before_it_is_parsed() {
    refused_by_every_command(
        |case| {
            let file = case.project.join(record::RECORD);
            let mut text = fs::read_to_string(&file).unwrap();
            for i in 0..200_000 {
                let _ = writeln!(text, "\"f{i}\" = {{ owner = \"tool\", sha256 = \"00\" }}");
            }
            fs::write(file, text).unwrap();
        },
        "larger than 4 MiB",
    );
}

/// One step of a random attack: a link from a path of the project (a file, a folder, or a new
/// place) to somewhere in the victim, or a record entry.
#[derive(Debug, Clone)]
enum Attack {
    Link {
        path: usize,
        depth: usize,
        target: usize,
    },
    Entry {
        path: usize,
        hash_of: usize,
    },
}

/// Paths a record entry may hold.
const ENTRIES: &[&str] = &[
    "../victim/outside.txt",
    "../victim/nested/Cargo.toml",
    "../victim",
    "/etc/hostname",
    "./Makefile",
    "src/./lib.rs",
    "src/services/../../../victim/secret.env",
    "Cargo.toml/",
    "",
];

const TARGETS: &[&str] = &[
    "",
    "outside.txt",
    "secret.env",
    "nested",
    "nested/Cargo.toml",
    "missing",
];

fn attacks() -> impl Strategy<Value = Vec<Attack>> {
    let link =
        (0..64usize, 0..4usize, 0..TARGETS.len()).prop_map(|(path, depth, target)| Attack::Link {
            path,
            depth,
            target,
        });
    let entry =
        (0..ENTRIES.len(), 0..3usize).prop_map(|(path, hash_of)| Attack::Entry { path, hash_of });
    prop::collection::vec(prop_oneof![3 => link, 1 => entry], 1..4)
}

/// The files of the pristine project, record and base included.
fn project_files() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = pristine().join("demo");
        contents(&root)
            .into_iter()
            .filter(|(_, held)| held != "/")
            .map(|(path, _)| path)
            .collect()
    })
}

impl Case {
    /// Carry out `attack`, unless it would reach through a link that an earlier one made;
    /// whether it was carried out.
    fn attack(&self, attack: &Attack) -> bool {
        match attack {
            Attack::Link {
                path,
                depth,
                target,
            } => {
                let files = project_files();
                let mut at = files[path % files.len()].clone();
                // The file itself, or one of the folders above it.
                for _ in 0..*depth {
                    if at.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
                        at.pop();
                    }
                }
                // Only where nothing above is a link already, so that the set-up itself never
                // reaches into the victim.
                let reachable = grpc_scaffold::tree::no_links(&self.project, &at).is_ok();
                let there = reachable && fs::symlink_metadata(self.project.join(&at)).is_ok();
                if there {
                    self.link(at.to_str().unwrap(), TARGETS[*target]);
                }
                there
            }
            Attack::Entry { path, hash_of } => {
                let held = ["a file of someone else's\n", "[package]\n", ""][*hash_of];
                self.record_entry(ENTRIES[*path], held)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the attack, every command refuses it and says why, and the victim is untouched
    /// and unread. Every file of the project is one that the commands read or write, so a link
    /// anywhere in it is on their way.
    #[test]
    fn no_hostile_tree_reaches_outside_the_project(attacks in attacks()) {
        let case = Case::new();
        let mut attacked = false;
        for attack in &attacks {
            attacked |= case.attack(attack);
        }
        let before = contents(&case.victim);
        let project = case.project.to_str().unwrap();
        let commands: [&[&str]; 4] = [
            &["grpc-scaffold", "check", project],
            &["grpc-scaffold", "update", "--dry-run", project],
            &["grpc-scaffold", "update", project],
            &["grpc-scaffold", "new", "demo", "--kind", "basic", "--force", "-o", project],
        ];
        for args in commands {
            let mut out = Vec::new();
            let cli = <Cli as clap::Parser>::parse_from(args);
            let result = grpc_scaffold::run(cli, &mut out);
            let printed = String::from_utf8_lossy(&out).into_owned()
                + &result.as_ref().err().map(ToString::to_string).unwrap_or_default();
            prop_assert!(!printed.contains(SECRET), "{args:?}: {printed}");
            prop_assert_eq!(&contents(&case.victim), &before, "{:?}: {}", args, printed);
            if attacked {
                let why = ["is a symbolic link", "the entry `"];
                prop_assert!(result.is_err(), "{:?}: {}", args, printed);
                prop_assert!(why.iter().any(|why| printed.contains(why)), "{:?}: {}", args, printed);
            }
        }
    }
}
