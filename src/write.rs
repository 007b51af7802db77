//! The write stage: rendered files to disk, last, and all or nothing.
//!
//! A new project is written into a temporary directory beside the destination, then renamed into
//! place, so a failed run leaves nothing behind. Into an existing directory (empty, or with
//! `--force`), every file is first written to a temporary directory inside it, and every target
//! is checked, before any file is moved into place; files that grpc-scaffold does not generate
//! are never touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::render::Files;

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

fn write_over(path: &Path, files: &Files) -> Result<()> {
    // Refuse before moving anything: a directory where a file goes, or a file where a directory goes.
    for relative in files.keys() {
        let mut target = path.join(relative);
        let mut want_dir = false;
        loop {
            if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir() != want_dir) {
                let what = if want_dir {
                    "a file stands where a generated directory goes"
                } else {
                    "a directory stands where a generated file goes"
                };
                return Err(Error::io("overwrite", &target, io::Error::other(what)));
            }
            if !target.pop() || target == path {
                break;
            }
            want_dir = true;
        }
    }
    let staging = staging_dir(path)?;
    write_all(staging.path(), files)?;
    for relative in files.keys() {
        let target = path.join(relative);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        }
        fs::rename(staging.path().join(relative), &target)
            .map_err(|err| Error::io("write", &target, err))?;
    }
    Ok(())
}

fn write_all(root: &Path, files: &Files) -> Result<()> {
    for (relative, contents) in files {
        let target = root.join(relative);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        }
        fs::write(&target, contents).map_err(|err| Error::io("write", &target, err))?;
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
