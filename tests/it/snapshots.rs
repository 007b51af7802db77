//! One whole-tree snapshot per kind: every path first, so that an added or missing file shows,
//! then every file in full. Review changes with `cargo insta review`.

use std::fmt::Write as _;

use grpc_scaffold::Kind;

use crate::support::render;

/// The name the snapshots are generated with.
pub const NAME: &str = "demo-api";

fn snapshot(kind: Kind) -> String {
    let files = render(NAME, kind);
    let mut out = String::from("# paths\n");
    for path in files.keys() {
        let _ = writeln!(out, "{}", path.display());
    }
    for (path, contents) in &files {
        let _ = write!(out, "\n# file: {}\n{contents}", path.display());
    }
    out
}

#[test]
fn every_kind() {
    for &kind in Kind::all() {
        insta::assert_snapshot!(kind.id(), snapshot(kind));
    }
}

#[test]
fn no_template_artefacts() {
    for &kind in Kind::all() {
        for (path, contents) in render(NAME, kind) {
            let path = path.display();
            assert!(
                !contents.contains("\n\n\n"),
                "{kind}: {path} has a run of blank lines"
            );
            assert!(
                contents.ends_with('\n'),
                "{kind}: {path} does not end with a newline"
            );
            assert!(
                !contents.ends_with("\n\n"),
                "{kind}: {path} ends with a blank line"
            );
            assert!(
                !contents.lines().any(|line| line.ends_with([' ', '\t'])),
                "{kind}: {path} has trailing white space"
            );
            for marker in ["{{", "{%", "__crate__", "TODO", "FIXME"] {
                assert!(
                    !contents.contains(marker),
                    "{kind}: {path} contains `{marker}`"
                );
            }
        }
    }
}
