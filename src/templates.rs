//! The embedded template tree and the per-kind manifests.
//!
//! `templates/common/` holds what every kind shares; `templates/<kind>/` holds a `template.toml`
//! and the files that mirror the kind's output tree. A kind's file replaces the common file with
//! the same output path, and may `{% extends %}` it to change only some blocks.
//!
//! File names map to output paths as follows:
//! - a `.tera` suffix means "render with Tera", and is dropped; other files are copied verbatim;
//! - a segment `dot_x` becomes `.x` (so that `.gitignore` does not apply to this repository);
//! - a segment `__crate__` becomes the crate name;
//! - a file `__service__.x` is rendered once per service, as `<module_name>.x`, with `service`
//!   in the context (and the project, but not its whole `api`).
//!
//! `templates/features/<feature>/` holds files that several kinds share but not all, such as the
//! callouts' wiring; a kind's manifest lists the features it includes. `templates/partials/` holds
//! fragments for `{% include %}`, which produce no file themselves.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use include_dir::{include_dir, Dir, DirEntry};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kind::Kind;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

const COMMON: &str = "common";
/// Fragments that templates `{% include %}`; they produce no file of their own.
const PARTIALS: &str = "partials";
/// Optional shared folders, each included by the kinds whose manifest names it.
const FEATURES: &str = "features";
const MANIFEST: &str = "template.toml";
const VERSIONS: &str = "versions.toml";

/// A kind's `template.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// One line for `grpc-scaffold list`.
    pub summary: String,
    /// The port the server listens on by default.
    pub port: u16,
    /// The defaults of the server's call limits.
    #[serde(default)]
    pub limits: Limits,
    /// Binaries besides the server, by role: `client` is `src/bin/client.rs`, built as
    /// `<name>-client`.
    #[serde(default)]
    pub bins: Vec<String>,
    /// The features of grpc-scaffold-runtime that the project turns on, such as `jwt`.
    #[serde(default)]
    pub runtime: Vec<String>,
    /// Shared folders of `templates/features/` that this kind includes, such as `callout`.
    #[serde(default)]
    pub features: Vec<String>,
    /// Common files that this kind does not write, by output path.
    #[serde(default)]
    pub omit: Vec<String>,
    /// Whether the Rust code is run through rustfmt: for kinds whose code is made of the
    /// user's names, whose lengths no template can foresee.
    #[serde(default)]
    pub rustfmt: bool,
    /// The files that the user owns, as output paths before `__crate__` and `__service__` are
    /// replaced; a path that ends in `/` stands for everything under it. Every other file is the
    /// tool's.
    pub user: Vec<String>,
}

impl Manifest {
    /// Who owns the file that a template writes at `output`.
    pub fn owner(&self, output: &Path) -> Owner {
        let output = output.to_string_lossy().replace('\\', "/");
        let mine = self.user.iter().any(|entry| match entry.strip_suffix('/') {
            Some(dir) => output
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/')),
            None => output == *entry,
        });
        if mine {
            Owner::User
        } else {
            Owner::Tool
        }
    }
}

/// Who maintains a generated file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// grpc-scaffold: `update` rewrites it, merging in the user's edits.
    Tool,
    /// The user: written once, and never touched again.
    User,
    /// grpc-scaffold, as one unit: the project's copy of the runtime crate, which `update`
    /// replaces whole and never merges.
    Runtime,
}

/// The defaults of a kind's call limits (`[limits]` in its manifest), where its calls are not
/// short unary ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// `MAX_CALL_SECS`: the longest a handler may take to answer or to start a stream, 0 for no
    /// maximum.
    pub max_call_secs: u64,
    /// `MAX_CONCURRENT_CALLS`: the calls handled at once.
    pub max_concurrent_calls: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_call_secs: 30,
            max_concurrent_calls: 32,
        }
    }
}

/// One file of the template tree.
#[derive(Debug, Clone)]
pub struct Template {
    /// The path inside `templates/`, which is also its Tera name.
    pub name: String,
    /// Where it lands in the generated project, before `__crate__` is replaced.
    pub output: PathBuf,
    /// Whether it is rendered by Tera, or copied as it is.
    pub render: bool,
    pub body: &'static str,
    /// Who owns the files it writes; set from the kind's manifest.
    pub owner: Owner,
}

impl Template {
    /// Is this one of the proto files, which are rendered and compiled before everything else?
    pub fn is_proto(&self) -> bool {
        self.output.starts_with("proto") && self.output.extension().is_some_and(|e| e == "proto")
    }
}

/// The templates of one kind, with the common ones it does not replace.
#[derive(Debug)]
pub struct KindTemplates {
    pub manifest: Manifest,
    /// Dependency versions of the generated projects, pinned in `templates/versions.toml`.
    pub versions: BTreeMap<String, String>,
    /// Every template, common and kind, so that `{% extends %}` and `{% include %}` resolve.
    pub all: Vec<Template>,
    /// The files to produce: one per output path, the kind's winning over the common one.
    pub outputs: Vec<Template>,
}

/// The manifest of `kind`.
pub fn manifest(kind: Kind) -> Result<Manifest> {
    parse_toml(&format!("{}/{MANIFEST}", kind.id()))
}

/// Load everything needed to render `kind`.
pub fn load(kind: Kind) -> Result<KindTemplates> {
    let manifest = manifest(kind)?;
    // Later layers replace earlier ones at the same output path.
    let mut layers = vec![collect(COMMON)?];
    for feature in &manifest.features {
        layers.push(collect(&format!("{FEATURES}/{feature}"))?);
    }
    layers.push(collect(kind.id())?);

    let mut outputs: BTreeMap<PathBuf, Template> = BTreeMap::new();
    for template in layers.iter().flatten() {
        let owner = manifest.owner(&template.output);
        outputs.insert(
            template.output.clone(),
            Template {
                owner,
                ..template.clone()
            },
        );
    }
    outputs.retain(|path, _| {
        !manifest
            .omit
            .iter()
            .any(|omitted| Path::new(omitted) == path)
    });
    layers.push(collect(PARTIALS)?);

    Ok(KindTemplates {
        manifest,
        versions: parse_toml(VERSIONS)?,
        all: layers.into_iter().flatten().collect(),
        outputs: outputs.into_values().collect(),
    })
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &str) -> Result<T> {
    let manifest_error = |reason: String| Error::Manifest {
        path: path.to_owned(),
        reason,
    };
    let text = TEMPLATES
        .get_file(path)
        .and_then(include_dir::File::contents_utf8)
        .ok_or_else(|| manifest_error("it is missing from the embedded templates".into()))?;
    toml::from_str(text).map_err(|err| manifest_error(err.message().to_owned()))
}

fn collect(root: &str) -> Result<Vec<Template>> {
    let dir = TEMPLATES.get_dir(root).ok_or_else(|| Error::Manifest {
        path: root.to_owned(),
        reason: "the template folder is missing".into(),
    })?;
    let mut templates = Vec::new();
    walk(dir, Path::new(root), &mut templates)?;
    Ok(templates)
}

fn walk(dir: &'static Dir<'static>, root: &Path, out: &mut Vec<Template>) -> Result<()> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => walk(sub, root, out)?,
            DirEntry::File(file) => {
                let path = file.path();
                let relative = path.strip_prefix(root).unwrap_or(path);
                if relative == Path::new(MANIFEST) {
                    continue;
                }
                let name = path.to_string_lossy().replace('\\', "/");
                let body = file.contents_utf8().ok_or_else(|| Error::Manifest {
                    path: name.clone(),
                    reason: "the template is not UTF-8".into(),
                })?;
                let render = path.extension().is_some_and(|ext| ext == "tera");
                out.push(Template {
                    output: output_path(relative),
                    name,
                    render,
                    body,
                    owner: Owner::Tool,
                });
            }
        }
    }
    Ok(())
}

fn output_path(relative: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in relative.components() {
        if let Component::Normal(segment) = component {
            let segment = segment.to_string_lossy();
            let segment = segment.strip_suffix(".tera").unwrap_or(&segment);
            match segment.strip_prefix("dot_") {
                Some(rest) => out.push(format!(".{rest}")),
                None => out.push(segment),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_paths() {
        let table = [
            ("Cargo.toml.tera", "Cargo.toml"),
            ("dot_gitignore", ".gitignore"),
            (
                "dot_github/workflows/ci.yml.tera",
                ".github/workflows/ci.yml",
            ),
            (
                "proto/__crate__/v1/api.proto.tera",
                "proto/__crate__/v1/api.proto",
            ),
        ];
        for (template, output) in table {
            assert_eq!(output_path(Path::new(template)), Path::new(output));
        }
    }

    #[test]
    fn every_kind_has_a_manifest_and_files() {
        for &kind in Kind::all() {
            let templates = load(kind).unwrap();
            assert!(!templates.manifest.summary.is_empty(), "{kind}");
            // The kinds whose protos are the user's bring a first version of them; Tyk's and
            // Envoy's are the runtime's, and `custom` takes the user's.
            let has_protos = templates.outputs.iter().any(Template::is_proto);
            let brings_protos = matches!(kind, Kind::Basic | Kind::Extension | Kind::Streaming);
            assert_eq!(has_protos, brings_protos, "{kind}");
        }
    }
}
