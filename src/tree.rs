//! A project on disk, as untrusted input. `update` and `check` run on whatever a repository
//! holds, and `new --force` writes into a folder that may hold anything, so every path they read,
//! write or remove goes through here:
//!
//! - a path is relative to the project root and made of plain names only: no root, no `..`, no
//!   `.`, no empty part, and of a bounded length;
//! - no symbolic link is followed: a link at the root, or at or above any path that is read or
//!   written, is refused before anything is written. A link could point anywhere, and what a
//!   command prints or writes must come from the project and go into it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The longest path that a project may name, in bytes.
pub const MAX_PATH: usize = 1024;

/// Why `path`, as the record spells it, cannot name a file inside a project, if it cannot.
pub fn invalid(path: &str) -> Option<&'static str> {
    if path.len() > MAX_PATH {
        return Some("it is longer than 1,024 bytes");
    }
    let plain = path
        .split('/')
        .all(|name| !matches!(name, "" | "." | "..") && !name.contains(['\\', '\0']));
    (!plain).then_some("a path in a project is relative, made of plain names joined by `/`")
}

/// Refuse `root/relative` where the root, or anything at or above `relative` that exists, is a
/// symbolic link; `relative` must have passed [`invalid`].
pub fn no_links(root: &Path, relative: &Path) -> Result<()> {
    let mut path = root.to_owned();
    if is_link(&path)? {
        return Err(Error::Link { path });
    }
    for component in relative.components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(Error::Link { path });
            }
            Ok(_) => {}
            // Nothing further down exists, so no link can be there.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotADirectory => return Ok(()),
            Err(err) => return Err(Error::io("read", &path, err)),
        }
    }
    Ok(())
}

/// Whether `path` itself is a symbolic link.
pub fn is_link(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => Ok(metadata.file_type().is_symlink()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io("read", path, err)),
    }
}

/// The contents of the file at `root/relative`, or `None` where there is none (or a directory
/// stands there).
pub fn read(root: &Path, relative: &Path) -> Result<Option<String>> {
    no_links(root, relative)?;
    let path = root.join(relative);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(Error::io("read", &path, err)),
    }
}

/// Every file below `root/folder`, by its path relative to `root`; none where the folder is
/// missing.
pub fn files_under(root: &Path, folder: &Path) -> Result<Vec<PathBuf>> {
    no_links(root, folder)?;
    let mut files = Vec::new();
    let mut pending = vec![folder.to_owned()];
    while let Some(next) = pending.pop() {
        let dir = root.join(&next);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(Error::io("read", &dir, err)),
        };
        for entry in entries {
            let entry = entry.map_err(|err| Error::io("read", &dir, err))?;
            let relative = next.join(entry.file_name());
            // The entry's own type: a link is not followed to what it points to.
            let kind = entry
                .file_type()
                .map_err(|err| Error::io("read", entry.path(), err))?;
            if kind.is_symlink() {
                return Err(Error::Link { path: entry.path() });
            } else if kind.is_dir() {
                pending.push(relative);
            } else {
                files.push(relative);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_name_a_file_of_the_project() {
        for good in [
            "Makefile",
            "src/main.rs",
            ".github/workflows/ci.yml",
            "a b/c",
        ] {
            assert_eq!(invalid(good), None, "{good}");
        }
        let long = "a/".repeat(600) + "b";
        for bad in [
            "",
            "/etc/passwd",
            "../victim/outside.txt",
            "src/../../x",
            "./Makefile",
            "src/./main.rs",
            "src//main.rs",
            "src/",
            ".",
            "..",
            "a\\b",
            "a\0b",
            &long,
        ] {
            assert!(invalid(bad).is_some(), "{bad:?}");
        }
    }
}
