//! The runtime crate that every project depends on, and where a project gets it from.
//!
//! The server core and each kind's framework live in `grpc-scaffold-runtime`, a crate of this
//! repository that is versioned with the CLI. Until it is published, `new` writes a copy of it
//! into the project, at [`VENDOR_DIR`]: the tool owns that copy as one unit, and `update` replaces
//! it whole, never merging it. The project's manifest carries the `version` requirement too, so
//! that the same line resolves from crates.io once the copy is gone.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use include_dir::{include_dir, Dir, DirEntry};

use crate::error::{Error, Result};
use crate::render::Files;

static RUNTIME: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/runtime");

/// The runtime's package name.
pub const PACKAGE: &str = "grpc-scaffold-runtime";
/// Where a project keeps its copy of the runtime.
pub const VENDOR_DIR: &str = "vendor/grpc-scaffold-runtime";
/// The runtime's version: the CLI's own.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where a project gets the runtime from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// A copy in the project, at [`VENDOR_DIR`], which the tool owns and replaces whole.
    #[default]
    Vendor,
    /// The crate published on crates.io, at this release.
    CratesIo,
    /// A checkout of the runtime, for someone working on it: a path as Cargo takes it, relative
    /// to the project or absolute.
    Path(PathBuf),
}

impl Source {
    /// The dependency's table in the project's `Cargo.toml`, without the features.
    pub fn dependency(&self) -> String {
        match self {
            Source::Vendor => format!("version = \"{VERSION}\", path = \"{VENDOR_DIR}\""),
            Source::CratesIo => format!("version = \"{VERSION}\""),
            Source::Path(path) => format!(
                "version = \"{VERSION}\", path = \"{}\"",
                toml_escape(&path.to_string_lossy())
            ),
        }
    }

    /// The runtime's files to write into the project: its whole crate for [`Source::Vendor`],
    /// and nothing otherwise.
    pub fn files(&self) -> Result<Files> {
        let mut files = Files::new();
        if *self == Source::Vendor {
            collect(&RUNTIME, &mut files)?;
        }
        Ok(files)
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "vendor" => Ok(Source::Vendor),
            "crates-io" => Ok(Source::CratesIo),
            "" => Err("expected `vendor`, `crates-io` or the path of a checkout".to_owned()),
            path => Ok(Source::Path(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Vendor => f.write_str("vendor"),
            Source::CratesIo => f.write_str("crates-io"),
            Source::Path(path) => path.display().fmt(f),
        }
    }
}

/// Is `path` a file of the project's copy of the runtime?
pub fn is_vendored(path: &Path) -> bool {
    path.starts_with(VENDOR_DIR)
}

fn collect(dir: &'static Dir<'static>, files: &mut Files) -> Result<()> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect(sub, files)?,
            DirEntry::File(file) => {
                let path = file.path();
                let contents = file.contents_utf8().ok_or_else(|| Error::Manifest {
                    path: format!("runtime/{}", path.display()),
                    reason: "the runtime's file is not UTF-8".into(),
                })?;
                files.insert(Path::new(VENDOR_DIR).join(path), contents.to_owned());
            }
        }
    }
    Ok(())
}

fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_the_whole_crate_and_nothing_built() {
        let files = Source::Vendor.files().unwrap();
        let manifest = Path::new(VENDOR_DIR).join("Cargo.toml");
        assert!(files[&manifest].contains(&format!("version = \"{VERSION}\"")));
        assert!(files.contains_key(&Path::new(VENDOR_DIR).join("src/lib.rs")));
        assert!(files
            .keys()
            .all(|path| !path.starts_with(Path::new(VENDOR_DIR).join("target"))));
        assert!(Source::CratesIo.files().unwrap().is_empty());
    }

    /// A crate that the projects and the runtime both depend on has one version in both, so that
    /// a project builds one copy of it.
    #[test]
    fn the_runtime_and_the_projects_agree_on_versions() {
        let manifest: toml::Table = RUNTIME
            .get_file("Cargo.toml")
            .and_then(|file| file.contents_utf8())
            .unwrap()
            .parse()
            .unwrap();
        let versions = crate::templates::load(crate::Kind::Basic).unwrap().versions;
        let mut shared = 0;
        for (name, spec) in manifest["dependencies"].as_table().unwrap() {
            let version = match spec {
                toml::Value::String(version) => version.as_str(),
                spec => spec["version"].as_str().unwrap(),
            };
            if let Some(pinned) = versions.get(&name.replace('-', "_")) {
                assert_eq!(pinned, version, "{name}");
                shared += 1;
            }
        }
        assert!(shared >= 5, "only {shared} crates in common");
    }

    #[test]
    fn sources_parse_and_print() {
        for text in ["vendor", "crates-io", "../runtime"] {
            assert_eq!(text.parse::<Source>().unwrap().to_string(), text);
        }
        assert!("".parse::<Source>().is_err());
        assert_eq!(
            Source::Path(PathBuf::from(r#"a"b"#)).dependency(),
            format!(r#"version = "{VERSION}", path = "a\"b""#)
        );
    }
}
