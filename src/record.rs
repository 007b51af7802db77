//! The record of a generated project, which `update` and `check` read: `grpc-scaffold.toml` at
//! its root, and the tool's files as they were generated, under `.grpc-scaffold/base/`.
//!
//! The base is what a three-way merge needs: the user's file, the new template's file, and the
//! file they both started from. Keeping it in the project, rather than every released template
//! in the binary, lets any later grpc-scaffold merge offline and without git, whatever its
//! templates and its model have become since.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use clap::ValueEnum as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::render::Files;
use crate::runtime;
use crate::templates::Owner;
use crate::tree;

/// The record file, at the project root.
pub const RECORD: &str = "grpc-scaffold.toml";
/// Where the tool's files are kept as they were generated.
pub const BASE: &str = ".grpc-scaffold/base";

/// The largest record read, in bytes: some 30,000 files. A record is read from a tree that anyone
/// may have written, so it is bounded before it is parsed.
const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// The most files, and the most RPCs, that a record may list.
const MAX_ENTRIES: usize = 20_000;

/// What `grpc-scaffold.toml` holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Record {
    /// The version of grpc-scaffold that last wrote the project.
    pub grpc_scaffold: String,
    pub kind: String,
    pub name: String,
    /// Where the project gets the runtime crate: `vendor`, `crates-io` or a path (see
    /// [`runtime::Source`]); a project written before the runtime existed has none.
    #[serde(default)]
    pub runtime: Option<String>,
    /// The RPC paths the protos defined when the project was last written.
    #[serde(default)]
    pub rpcs: Vec<String>,
    /// Every file that grpc-scaffold wrote, by its path relative to the project root.
    #[serde(default)]
    pub files: BTreeMap<String, Entry>,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub owner: Owner,
    /// The SHA-256 of what grpc-scaffold wrote, in hex.
    pub sha256: String,
}

impl Entry {
    /// Does `contents` still hold what was written?
    pub fn matches(&self, contents: &str) -> bool {
        self.sha256 == sha256(contents)
    }
}

impl Record {
    /// An empty record of a project of `kind`, named `name`, whose protos define `rpcs`.
    pub fn new(kind: Kind, name: &str, runtime: &runtime::Source, rpcs: Vec<String>) -> Self {
        Self {
            grpc_scaffold: env!("CARGO_PKG_VERSION").to_owned(),
            kind: kind.id().to_owned(),
            name: name.to_owned(),
            runtime: Some(runtime.to_string()),
            rpcs,
            files: BTreeMap::new(),
        }
    }

    /// Note that `contents` was written at `path`, for `owner`.
    pub fn insert(&mut self, path: &Path, owner: Owner, contents: &str) {
        let entry = Entry {
            owner,
            sha256: sha256(contents),
        };
        self.files.insert(key(path), entry);
    }

    /// Keep `entry`, as an earlier record had it, for `path`.
    pub fn keep(&mut self, path: &Path, entry: Entry) {
        self.files.insert(key(path), entry);
    }

    /// The entry of `path`, if grpc-scaffold wrote it.
    pub fn entry(&self, path: &Path) -> Option<&Entry> {
        self.files.get(&key(path))
    }

    /// Where the project gets the runtime crate; a copy where the record names none.
    pub fn runtime(&self) -> Result<runtime::Source> {
        self.runtime
            .as_deref()
            .map_or(Ok(runtime::Source::Vendor), str::parse)
            .map_err(|reason| Error::RecordInvalid {
                path: PathBuf::from(RECORD),
                reason: format!("`runtime`: {reason}"),
            })
    }

    /// The kind it records.
    pub fn kind(&self) -> Result<Kind> {
        Kind::from_str(&self.kind, false).map_err(|_| Error::RecordInvalid {
            path: PathBuf::from(RECORD),
            reason: format!("unknown kind `{}`", self.kind),
        })
    }

    /// Read the record of the project at `dir`, or `None` where it has none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        tree::no_links(dir, Path::new(RECORD))?;
        let path = dir.join(RECORD);
        let invalid = |reason: String| Error::RecordInvalid {
            path: path.clone(),
            reason,
        };
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io("read", &path, err)),
        };
        let mut text = String::new();
        file.take(MAX_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|err| Error::io("read", &path, err))?;
        if text.len() as u64 > MAX_BYTES {
            return Err(invalid("it is larger than 4 MiB".to_owned()));
        }
        let record: Self =
            toml::from_str(&text).map_err(|err| invalid(err.message().to_owned()))?;
        if record.files.len() > MAX_ENTRIES || record.rpcs.len() > MAX_ENTRIES {
            return Err(invalid(format!(
                "it lists more than {MAX_ENTRIES} files or RPCs"
            )));
        }
        for entry in record.files.keys() {
            let why = tree::invalid(entry).or_else(|| {
                is_bookkeeping(Path::new(entry)).then_some("it names grpc-scaffold's own record")
            });
            if let Some(why) = why {
                return Err(invalid(format!("the entry `{entry}`: {why}")));
            }
        }
        Ok(Some(record))
    }

    /// The text of `grpc-scaffold.toml`.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# What grpc-scaffold generated here, read by `grpc-scaffold update` and `grpc-scaffold check`.\n\
             # Commit it with the project; `update` rewrites it.\n",
        );
        let _ = writeln!(out, "grpc-scaffold = {}", quote(&self.grpc_scaffold));
        let _ = writeln!(out, "kind = {}", quote(&self.kind));
        let _ = writeln!(out, "name = {}", quote(&self.name));
        if let Some(runtime) = &self.runtime {
            let _ = writeln!(out, "runtime = {}", quote(runtime));
        }
        out.push_str(
            "\n# The RPCs of the protos when the project was last written, so that `update` can report\n\
             # those that are gone.\nrpcs = [\n",
        );
        for rpc in &self.rpcs {
            let _ = writeln!(out, "  {},", quote(rpc));
        }
        out.push_str(
            "]\n\n# Every file that grpc-scaffold wrote: who owns it, and the SHA-256 of what was written.\n\
             # `update` rewrites the tool's files, merging in your edits, and never touches yours. To\n\
             # take one of the tool's files over, set its owner to \"user\". The runtime's copy is\n\
             # replaced whole.\n[files]\n",
        );
        for (path, entry) in &self.files {
            let owner = match entry.owner {
                Owner::Tool => "tool",
                Owner::User => "user",
                Owner::Runtime => "runtime",
            };
            let _ = writeln!(
                out,
                "{} = {{ owner = \"{owner}\", sha256 = \"{}\" }}",
                quote(path),
                entry.sha256
            );
        }
        out
    }

    /// The record file and the base of every tool-owned file in `files`, as files to write.
    pub fn files(&self, bases: &Files) -> Files {
        let mut out: Files = bases
            .iter()
            .map(|(path, contents)| (Path::new(BASE).join(path), contents.clone()))
            .collect();
        out.insert(PathBuf::from(RECORD), self.render());
        out
    }
}

/// Is `path` one of grpc-scaffold's own bookkeeping files, rather than part of the project?
pub fn is_bookkeeping(path: &Path) -> bool {
    path == Path::new(RECORD) || path.starts_with(BASE)
}

/// The base of the tool-owned file `path` in the project at `dir`, if it is kept.
pub fn read_base(dir: &Path, path: &Path) -> Result<Option<String>> {
    tree::read(dir, &Path::new(BASE).join(path))
}

/// The SHA-256 of `contents`, in hex.
pub fn sha256(contents: &str) -> String {
    Sha256::digest(contents.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// A path as the record spells it: relative, with `/`.
fn key(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_what_it_writes() {
        let mut record = Record::new(
            Kind::Custom,
            "shop",
            &runtime::Source::Vendor,
            vec!["/a.B/C".into()],
        );
        record.insert(Path::new("src/odd \"name\\.rs"), Owner::User, "x");
        record.insert(Path::new("Cargo.toml"), Owner::Tool, "");
        let read: Record = toml::from_str(&record.render()).unwrap();
        assert_eq!(read, record);
        assert!(read.entry(Path::new("Cargo.toml")).unwrap().matches(""));
        assert!(!read.entry(Path::new("Cargo.toml")).unwrap().matches("y"));
    }
}
