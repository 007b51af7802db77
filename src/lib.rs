//! grpc-scaffold writes ready-to-build Rust gRPC servers.
//!
//! A run is a pipeline of stages, one module each:
//!
//! 1. [`cli`] parses what the user typed, and [`options`] validates it: the name, the kind and
//!    the destination are checked before anything is rendered.
//! 2. [`templates`] loads the kind's embedded template folder and its manifest.
//! 3. [`render`] renders the kind's `.proto` files (or, for `custom`, the user's are read), and
//!    [`proto`] compiles them with protox into the typed [`model`], so a broken proto is an
//!    error here, not a broken project.
//! 4. [`render`] renders every other file from the model, in memory; for kinds whose code
//!    depends on the user's names, [`format`] runs it through rustfmt.
//! 5. [`write`] puts the files on disk, last, through a temporary directory, with the
//!    [`record`] of what was written and who owns each file, and, unless the project depends on
//!    a published or checked-out copy, the [`runtime`] crate that it builds on.
//!
//! `update` runs the same stages against a project on disk: [`update`] reads its record, renders
//! the project anew from its own protos, and decides file by file what to write, merging the
//! user's edits into the tool's files with [`merge`].

pub mod cli;
pub mod error;
pub mod format;
pub mod kind;
pub mod merge;
pub mod model;
pub mod naming;
pub mod options;
pub mod proto;
pub mod record;
pub mod render;
pub mod report;
pub mod runtime;
pub mod templates;
pub mod tree;
pub mod update;
pub mod write;

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory as _;

use crate::cli::{Cli, Command, Format};
pub use crate::error::{Error, Result};
pub use crate::kind::Kind;
use crate::model::Project;
use crate::options::Options;
use crate::record::Record;
use crate::render::Renderer;
pub use crate::render::{Files, Owners};
use crate::templates::{KindTemplates, Owner};
use crate::write::{Destination, Op};

/// A project rendered in memory.
#[derive(Debug, Clone)]
pub struct Generated {
    pub kind: Kind,
    pub name: String,
    /// Every file of the project, by its path relative to the project root.
    pub files: Files,
    /// Who owns each of them.
    pub owners: Owners,
    /// The HTTP/2 path of every RPC its protos define.
    pub rpcs: Vec<String>,
    /// Where it gets the runtime crate from.
    pub runtime: runtime::Source,
}

impl Generated {
    /// The record of the project as generated.
    pub fn record(&self) -> Record {
        let mut record = Record::new(self.kind, &self.name, &self.runtime, self.rpcs.clone());
        for (path, contents) in &self.files {
            record.insert(path, self.owner(path), contents);
        }
        record
    }

    /// Every file to write: the project's, its record, and the base of the tool's files.
    pub fn with_record(&self) -> Files {
        let bases: Files = self
            .files
            .iter()
            .filter(|(path, _)| self.owner(path) == Owner::Tool)
            .map(|(path, contents)| (path.clone(), contents.clone()))
            .collect();
        let mut files = self.files.clone();
        files.extend(self.record().files(&bases));
        files
    }

    fn owner(&self, path: &Path) -> Owner {
        self.owners.get(path).copied().unwrap_or(Owner::Tool)
    }
}

/// Render the project that `options` describe, in memory.
pub fn generate(options: &Options) -> Result<Generated> {
    let templates = templates::load(options.kind)?;
    let renderer = Renderer::new(&templates)?;
    let mut project = Project::new(options, &templates.manifest, templates.versions.clone());
    let mut owners = Owners::new();

    let mut files = if options.kind == Kind::Custom {
        let (api, protos) = proto::compile_user(&options.protos, &options.includes)?;
        project.api = api;
        owners.extend(protos.keys().map(|path| (path.clone(), Owner::User)));
        protos
    } else {
        let protos = renderer.protos(&project, &mut owners)?;
        project.api = proto::compile(options.kind.id(), &protos)?;
        let own = project.api.clone();
        project.api.mark_bundled(&own);
        protos
    };
    files.extend(render_code(&templates, &renderer, &project, &mut owners)?);
    check_dependencies(&options.name, &files)?;
    let vendored = options.runtime.files()?;
    owners.extend(vendored.keys().map(|path| (path.clone(), Owner::Runtime)));
    files.extend(vendored);
    Ok(Generated {
        kind: options.kind,
        name: options.name.clone(),
        files,
        owners,
        rpcs: project.api.rpcs(),
        runtime: options.runtime.clone(),
    })
}

/// Render everything but the protos, once the model knows the API.
fn render_code(
    templates: &KindTemplates,
    renderer: &Renderer<'_>,
    project: &Project,
    owners: &mut Owners,
) -> Result<Files> {
    let mut code = renderer.rest(project, owners)?;
    // Code made of the user's names: a custom kind's, or a service added to a kind's protos.
    let users_names = project.api.services.iter().any(|service| !service.bundled);
    if templates.manifest.rustfmt || users_names {
        format::rust_files(&mut code);
    }
    Ok(code)
}

/// Refuse a project name that is also the name of a crate it depends on: Cargo cannot build a
/// package that depends on a crate of its own name.
fn check_dependencies(name: &str, files: &Files) -> Result<()> {
    let Some(manifest) = files.get(Path::new("Cargo.toml")) else {
        return Ok(());
    };
    let manifest: toml::Table = toml::from_str(manifest).map_err(|err| Error::Render {
        template: "Cargo.toml".into(),
        reason: err.message().to_owned(),
    })?;
    let crate_name = naming::crate_name(name);
    let dependency = ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|table| manifest.get(*table).and_then(toml::Value::as_table))
        .flat_map(toml::Table::keys)
        .find(|dependency| naming::crate_name(dependency) == crate_name);
    match dependency {
        Some(dependency) => Err(Error::NameShadowsDependency {
            name: name.to_owned(),
            dependency: dependency.clone(),
            suggestion: format!("{name}-service"),
        }),
        None => Ok(()),
    }
}

/// Carry out a parsed command line, printing to `out`.
pub fn run(cli: Cli, out: &mut dyn io::Write) -> Result<()> {
    let result = match cli.command {
        Command::New(args) => Options::try_from(args).and_then(|options| new(&options, out)),
        Command::Update { dir, dry_run } => update::run(&dir, dry_run, out),
        Command::Check { dir, format } => update::check(&dir, format == Format::Json, out),
        Command::List => Kind::all().iter().try_for_each(|&kind| {
            let manifest = templates::manifest(kind)?;
            writeln!(out, "{:<12} {}", kind.id(), manifest.summary).map_err(stdout)
        }),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "grpc-scaffold", out);
            Ok(())
        }
    };
    result.map_err(|err| match err {
        Error::Io { path, source, .. } if path.as_os_str() == STDOUT => stdout(source),
        err => err,
    })
}

const STDOUT: &str = "stdout";

/// An error writing to `out`.
pub(crate) fn stdout(err: io::Error) -> Error {
    Error::io("write to", STDOUT, err)
}

fn new(options: &Options, out: &mut dyn io::Write) -> Result<()> {
    let destination = write::check(&options.destination, options.force)?;
    let generated = generate(options)?;
    let files = generated.with_record();
    let shown = options.destination.display();

    if options.dry_run {
        let mut total = 0;
        for (path, contents) in files
            .iter()
            .filter(|(path, _)| !path.starts_with(record::BASE))
        {
            total += contents.len();
            writeln!(out, "{:>8}  {}", contents.len(), path.display()).map_err(stdout)?;
        }
        writeln!(
            out,
            "{} files, {total} bytes, and the base of the tool's files under `{}/`; dry run: nothing written to `{shown}`",
            generated.files.len() + 1,
            record::BASE,
        )
        .map_err(stdout)?;
        return Ok(());
    }

    match destination {
        Destination::Missing => write::write(&options.destination, destination, &files)?,
        Destination::Empty | Destination::Occupied => {
            let ops = overwrite_ops(&options.destination, &files)?;
            write::apply(&options.destination, &ops)?;
        }
    }
    writeln!(
        out,
        "     Created {} project `{}` at `{shown}` ({} files)\n\nNext:\n  cd {shown}\n  make run      # or see its README.md",
        options.kind,
        options.name,
        generated.files.len(),
    )
    .map_err(stdout)
}

/// What `new --force` writes into an existing directory: every file that is missing or differs,
/// as long as the one there is unchanged since grpc-scaffold wrote it. Old bookkeeping that the
/// new project does not need goes.
fn overwrite_ops(dir: &Path, files: &Files) -> Result<Vec<Op>> {
    let record = Record::read(dir)?;
    let mut ops = Vec::new();
    let mut edited = Vec::new();
    for (path, contents) in files {
        // A directory in the way is refused by the write stage, before it writes anything.
        let existing = tree::read(dir, path)?;
        match existing {
            Some(existing) if existing == *contents => {}
            Some(existing)
                if !record::is_bookkeeping(path)
                    && !record
                        .as_ref()
                        .and_then(|record| record.entry(path))
                        .is_some_and(|entry| entry.matches(&existing)) =>
            {
                edited.push(path.clone());
            }
            _ => ops.push(Op::Write(path.clone(), contents.clone())),
        }
    }
    if !edited.is_empty() {
        let help = if record.is_some() {
            "run `grpc-scaffold update` instead: it brings the project forward and keeps your edits"
        } else {
            "move those files away first, or choose another directory with `--output`"
        };
        return Err(Error::WouldOverwrite {
            paths: edited,
            help: help.to_owned(),
        });
    }
    if let Some(record) = &record {
        let stale = record.files.keys().map(PathBuf::from).filter(|path| {
            let base = Path::new(record::BASE).join(path);
            !files.contains_key(&base)
        });
        for base in stale.map(|path| Path::new(record::BASE).join(path)) {
            if tree::read(dir, &base)?.is_some() {
                ops.push(Op::Remove(base));
            }
        }
    }
    Ok(ops)
}
