//! Three-way merges of a tool-owned file, and the unified diffs of `update --dry-run`.
//!
//! The three sides are the base (the file as grpc-scaffold generated it last time), the user's
//! file on disk, and the file the running grpc-scaffold generates. Where the user's edits and
//! the template's changes touch different lines, both are kept; where they overlap, the file
//! gets git's conflict markers, never a `.rej` file beside it.

use diffy::{ConflictStyle, DiffOptions, MergeOptions, PatchFormatter};

/// The label of the user's side of a conflict.
const YOURS: &str = "yours";

/// What a three-way merge gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// Both sides' changes, with no overlap.
    Clean(String),
    /// The merged file, with conflict markers where the two sides overlap.
    Conflict(String),
}

/// Merge the user's changes from `base` to `yours` with the template's from `base` to `theirs`.
pub fn merge(base: &str, yours: &str, theirs: &str) -> Merged {
    let mut options = MergeOptions::new();
    options.set_conflict_style(ConflictStyle::Merge);
    match options.merge(base, yours, theirs) {
        Ok(merged) => Merged::Clean(merged),
        Err(conflicted) => Merged::Conflict(relabel(&conflicted)),
    }
}

/// Whether `text` still holds the markers of a conflict that `merge` left.
pub fn has_conflict_markers(text: &str) -> bool {
    let mut open = false;
    for line in text.lines() {
        if line == format!("<<<<<<< {YOURS}") {
            open = true;
        } else if open && line.starts_with(">>>>>>> grpc-scaffold") {
            return true;
        }
    }
    false
}

/// diffy names the sides `ours` and `theirs`; say whose they are.
fn relabel(conflicted: &str) -> String {
    let theirs = format!(">>>>>>> grpc-scaffold {}", env!("CARGO_PKG_VERSION"));
    let mut out = String::with_capacity(conflicted.len());
    for line in conflicted.split_inclusive('\n') {
        let (text, end) = line
            .strip_suffix('\n')
            .map_or((line, ""), |text| (text, "\n"));
        match text {
            "<<<<<<< ours" => {
                out.push_str("<<<<<<< ");
                out.push_str(YOURS);
            }
            ">>>>>>> theirs" => out.push_str(&theirs),
            _ => out.push_str(text),
        }
        out.push_str(end);
    }
    out
}

/// The unified diff from `before` to `after` of the file at `path`, as `git diff` prints it.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    let diff = DiffOptions::new()
        .set_original_filename(format!("a/{path}"))
        .set_modified_filename(format!("b/{path}"))
        .create_patch(before, after);
    let text = PatchFormatter::new().fmt_patch(&diff).to_string();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_on_different_lines_are_both_kept() {
        let base = "a\nb\nc\nd\ne\n";
        let yours = "a\nb\nmine\nc\nd\ne\n";
        let theirs = "a\nb\nc\nd\ne\nnew\n";
        assert_eq!(
            merge(base, yours, theirs),
            Merged::Clean("a\nb\nmine\nc\nd\ne\nnew\n".into())
        );
    }

    #[test]
    fn overlapping_edits_get_labelled_markers() {
        let Merged::Conflict(text) = merge("a\nb\nc\n", "a\nmine\nc\n", "a\ntheirs\nc\n") else {
            panic!("no conflict");
        };
        assert!(text.contains("<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> grpc-scaffold "));
        assert!(has_conflict_markers(&text));
        assert!(!has_conflict_markers("a\n=======\nb\n"));
    }
}
