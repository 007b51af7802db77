//! The write stage: rendered files to disk, last, and all or nothing.
//!
//! A new project is written into a temporary directory beside the destination, then renamed into
//! place, so a failed run leaves nothing behind. Into an existing directory (empty, with
//! `--force`, or on `update`), every file is first written to a temporary directory inside it,
//! and every target is checked, before any file is moved into place; each file replaced or
//! removed is moved aside until the end, so that a failure half-way puts every file back as it
//! was. Files that grpc-scaffold does not write are never touched, and nothing is written
//! through a symbolic link ([`tree`](crate::tree)).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::render::Files;
use crate::tree;

/// What the destination looks like before we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Nothing there yet.
    Missing,
    /// An empty directory.
    Empty,
    /// A directory with files in it; writing needs `--force`.
    Occupied,
}

/// Look at `path`, and refuse what we must not write into.
pub fn check(path: &Path, force: bool) -> Result<Destination> {
    if tree::is_link(path)? {
        return Err(Error::Link { path: path.into() });
    }
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Destination::Missing),
        Err(err) => return Err(Error::io("read", path, err)),
    };
    if !metadata.is_dir() {
        return Err(Error::DestinationNotDir { path: path.into() });
    }
    let mut entries = fs::read_dir(path).map_err(|err| Error::io("read", path, err))?;
    if entries.next().is_none() {
        Ok(Destination::Empty)
    } else if force {
        Ok(Destination::Occupied)
    } else {
        Err(Error::DestinationNotEmpty { path: path.into() })
    }
}

/// Write `files` under `path`, whose state `check` returned.
pub fn write(path: &Path, destination: Destination, files: &Files) -> Result<()> {
    match destination {
        Destination::Missing => write_new(path, files),
        // Into the directory itself, never replacing it: it may be `.`, or the shell's own.
        Destination::Empty | Destination::Occupied => write_over(path, files),
    }
}

fn write_new(path: &Path, files: &Files) -> Result<()> {
    let parent = parent_of(path);
    fs::create_dir_all(&parent).map_err(|err| Error::io("create", &parent, err))?;
    let staging = staging_dir(&parent)?;
    write_all(staging.path(), files)?;
    let staged = staging.keep();
    fs::rename(&staged, path).map_err(|err| {
        // Nothing of ours may stay behind; the rename error is the one worth reporting.
        let _ = fs::remove_dir_all(&staged);
        Error::io("create", path, err)
    })
}

/// One change to a file of an existing project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write the file, creating it or replacing what is there.
    Write(PathBuf, String),
    /// Remove the file.
    Remove(PathBuf),
}

impl Op {
    fn path(&self) -> &Path {
        match self {
            Op::Write(path, _) | Op::Remove(path) => path,
        }
    }
}

fn write_over(path: &Path, files: &Files) -> Result<()> {
    let ops: Vec<Op> = files
        .iter()
        .map(|(relative, contents)| Op::Write(relative.clone(), contents.clone()))
        .collect();
    apply(path, &ops)
}

/// Carry out `ops` under `root`, all or nothing: every new file is written to a staging
/// directory first, every file that is replaced or removed is moved aside, and a failure on the
/// way moves everything back, so that the tree is left as it was.
pub fn apply(root: &Path, ops: &[Op]) -> Result<()> {
    // Refuse before moving anything: a path outside the project, a link on the way, a directory
    // where a file goes, or a file where a directory goes.
    for op in ops {
        check_target(root, op)?;
    }
    let staging = staging_dir(root)?;
    let fresh = staging.path().join("new");
    let aside = staging.path().join("old");
    for op in ops {
        if let Op::Write(relative, contents) = op {
            write_file(&fresh.join(relative), contents)?;
        }
    }
    let mut journal = Journal::default();
    for op in ops {
        if let Err(err) = journal.carry_out(root, &fresh, &aside, op) {
            journal.roll_back();
            return Err(err);
        }
    }
    for op in ops {
        if let Op::Remove(relative) = op {
            remove_empty_parents(root, relative);
        }
    }
    Ok(())
}

/// What `apply` has done so far, to undo it.
#[derive(Debug, Default)]
struct Journal {
    /// Each file changed: its path, whether a new file was put there, and where the file that
    /// was there before was moved aside.
    changed: Vec<(PathBuf, bool, Option<PathBuf>)>,
    /// Directories created, outermost first.
    created: Vec<PathBuf>,
}

impl Journal {
    fn carry_out(&mut self, root: &Path, fresh: &Path, aside: &Path, op: &Op) -> Result<()> {
        let relative = op.path();
        let target = root.join(relative);
        let moved = if fs::symlink_metadata(&target).is_ok() {
            let moved = aside.join(relative);
            create_dirs(&moved, &mut Vec::new())?;
            fs::rename(&target, &moved).map_err(|err| Error::io("replace", &target, err))?;
            Some(moved)
        } else {
            None
        };
        let placed = match op {
            Op::Write(..) => create_dirs(&target, &mut self.created).and_then(|()| {
                fs::rename(fresh.join(relative), &target)
                    .map_err(|err| Error::io("write", &target, err))
            }),
            Op::Remove(_) => Ok(()),
        };
        let is_write = matches!(op, Op::Write(..));
        self.changed.push((target, is_write, moved));
        if placed.is_err() {
            // Nothing was put in place; the roll-back only has to bring the original back.
            if let Some(last) = self.changed.last_mut() {
                last.1 = false;
            }
        }
        placed
    }

    /// Undo everything, newest first. An error here cannot be reported better than the one that
    /// caused the roll-back, so each step does what it can.
    fn roll_back(self) {
        for (target, placed, moved) in self.changed.into_iter().rev() {
            if placed {
                let _ = fs::remove_file(&target);
            }
            if let Some(moved) = moved {
                let _ = fs::rename(moved, &target);
            }
        }
        for dir in self.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Refuse `op` where its path leaves the project or passes a link, where a directory stands in
/// the place of the file, or where a file stands in the place of one of its directories.
fn check_target(root: &Path, op: &Op) -> Result<()> {
    let relative = op.path();
    let target = root.join(relative);
    let spelled = relative.to_string_lossy();
    if let Some(why) = tree::invalid(&spelled) {
        return Err(Error::io("write", &target, io::Error::other(why)));
    }
    tree::no_links(root, relative)?;
    if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        let what = "a directory stands where a generated file goes";
        return Err(Error::io("overwrite", &target, io::Error::other(what)));
    }
    let mut dir = root.to_owned();
    for component in relative.parent().into_iter().flat_map(Path::components) {
        dir.push(component);
        if fs::symlink_metadata(&dir).is_ok_and(|m| !m.is_dir()) {
            let what = "a file stands where a generated directory goes";
            return Err(Error::io("overwrite", &dir, io::Error::other(what)));
        }
    }
    Ok(())
}

/// Create the missing directories above `file`, noting each in `created`, outermost first.
fn create_dirs(file: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let Some(dir) = file.parent() else {
        return Ok(());
    };
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(dir) = next {
        if dir.as_os_str().is_empty() || fs::metadata(dir).is_ok() {
            break;
        }
        missing.push(dir.to_owned());
        next = dir.parent();
    }
    for dir in missing.into_iter().rev() {
        fs::create_dir(&dir).map_err(|err| Error::io("create", &dir, err))?;
        created.push(dir);
    }
    Ok(())
}

/// Remove the directories above `relative`, inside `root`, that its removal left empty.
fn remove_empty_parents(root: &Path, relative: &Path) {
    let mut dir = relative.to_owned();
    while dir.pop() && !dir.as_os_str().is_empty() {
        if fs::remove_dir(root.join(&dir)).is_err() {
            break;
        }
    }
}

fn write_file(target: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
    }
    fs::write(target, contents).map_err(|err| Error::io("write", target, err))
}

fn write_all(root: &Path, files: &Files) -> Result<()> {
    for (relative, contents) in files {
        write_file(&root.join(relative), contents)?;
    }
    Ok(())
}

fn staging_dir(parent: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".grpc-scaffold-")
        .tempdir_in(parent)
        .map_err(|err| Error::io("write to", parent, err))
}

/// The directory that will hold `path`; `.` for a bare name.
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> Vec<(PathBuf, Option<String>)> {
        let mut out = Vec::new();
        let mut pending = vec![root.to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().to_owned();
                if path.is_dir() {
                    pending.push(path);
                    out.push((relative, None));
                } else {
                    out.push((relative, Some(fs::read_to_string(&path).unwrap())));
                }
            }
        }
        out.sort();
        out
    }

    /// What a failure half-way leaves to undo: files replaced, created in new folders, and
    /// removed. The roll-back puts every one back.
    #[test]
    fn a_roll_back_puts_every_file_back() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join("Cargo.toml"), "mine\n").unwrap();
        fs::write(root.join("src/old.rs"), "old\n").unwrap();
        let before = tree(root);

        let ops = [
            Op::Write("Cargo.toml".into(), "new\n".into()),
            Op::Write("deploy/k8s/pdb.yaml".into(), "new\n".into()),
            Op::Remove("src/old.rs".into()),
        ];
        let staging = staging_dir(root).unwrap();
        let fresh = staging.path().join("new");
        let aside = staging.path().join("old");
        for op in &ops {
            if let Op::Write(relative, contents) = op {
                write_file(&fresh.join(relative), contents).unwrap();
            }
        }
        let mut journal = Journal::default();
        for op in &ops {
            journal.carry_out(root, &fresh, &aside, op).unwrap();
        }
        assert_eq!(
            fs::read_to_string(root.join("deploy/k8s/pdb.yaml")).unwrap(),
            "new\n"
        );
        assert!(!root.join("src/old.rs").exists());

        journal.roll_back();
        drop(staging);
        assert_eq!(tree(root), before);
    }
}
