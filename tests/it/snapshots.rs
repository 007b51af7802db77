//! One whole-tree snapshot per kind: every path first, so that an added or missing file shows,
//! then every file in full. Review changes with `cargo insta review`.

use std::fmt::Write as _;

use grpc_scaffold::runtime::VENDOR_DIR;
use grpc_scaffold::Kind;

use crate::support::render;

/// The name the snapshots are generated with.
pub const NAME: &str = "demo-api";

/// The tree of `kind`, but for the copy of the runtime crate, which is this repository's
/// `runtime/` as it is, and is named by one line.
fn snapshot(kind: Kind) -> String {
    let mut files = render(NAME, kind);
    let vendored = files.len();
    files.retain(|path, _| !path.starts_with(VENDOR_DIR));
    assert!(files.len() < vendored, "{kind} has no copy of the runtime");
    let mut out = String::from("# paths\n");
    let _ = writeln!(out, "{VENDOR_DIR}/ (the runtime crate)");
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
        for (file, contents) in render(NAME, kind) {
            let path = file.display();
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
            // The runtime's copy is Rust as written, not rendered: a macro may hold `{{`.
            let markers: &[&str] = if file.starts_with(VENDOR_DIR) {
                &["TODO", "FIXME"]
            } else {
                &["{{", "{%", "__crate__", "TODO", "FIXME"]
            };
            for marker in markers {
                assert!(
                    !contents.contains(marker),
                    "{kind}: {path} contains `{marker}`"
                );
            }
        }
    }
}
