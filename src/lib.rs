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
//! 5. [`write`] puts the files on disk, last, through a temporary directory.

pub mod cli;
pub mod error;
pub mod format;
pub mod kind;
pub mod model;
pub mod naming;
pub mod options;
pub mod proto;
pub mod render;
pub mod report;
pub mod templates;
pub mod write;

use std::io;

use clap::CommandFactory as _;

use crate::cli::{Cli, Command};
pub use crate::error::{Error, Result};
pub use crate::kind::Kind;
use crate::model::Project;
use crate::options::Options;
pub use crate::render::Files;
use crate::render::Renderer;

/// Render the project that `options` describe, in memory.
pub fn generate(options: &Options) -> Result<Files> {
    let templates = templates::load(options.kind)?;
    let renderer = Renderer::new(&templates)?;
    let mut project = Project::new(options, &templates.manifest, templates.versions.clone());

    let mut files = if options.kind == Kind::Custom {
        let (api, protos) = proto::compile_user(&options.protos, &options.includes)?;
        project.api = api;
        protos
    } else {
        let protos = renderer.protos(&project)?;
        project.api = proto::compile(options.kind.id(), &protos)?;
        protos
    };
    let mut code = renderer.rest(&project)?;
    if templates.manifest.rustfmt {
        format::rust_files(&mut code);
    }
    files.extend(code);
    Ok(files)
}

/// Carry out a parsed command line, printing to `out`.
pub fn run(cli: Cli, out: &mut dyn io::Write) -> Result<()> {
    let stdout = |err| Error::io("write to", "stdout", err);
    match cli.command {
        Command::New(args) => {
            let options = Options::try_from(args)?;
            new(&options, out).map_err(|err| match err {
                Error::Io { path, source, .. } if path.as_os_str() == "stdout" => stdout(source),
                err => err,
            })
        }
        Command::List => {
            for &kind in Kind::all() {
                let manifest = templates::manifest(kind)?;
                writeln!(out, "{:<12} {}", kind.id(), manifest.summary).map_err(stdout)?;
            }
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "grpc-scaffold", out);
            Ok(())
        }
    }
}

fn new(options: &Options, out: &mut dyn io::Write) -> Result<()> {
    let destination = write::check(&options.destination, options.force)?;
    let files = generate(options)?;
    let shown = options.destination.display();
    let stdout = |err| Error::io("write to", "stdout", err);

    if options.dry_run {
        let mut total = 0;
        for (path, contents) in &files {
            total += contents.len();
            writeln!(out, "{:>8}  {}", contents.len(), path.display()).map_err(stdout)?;
        }
        writeln!(
            out,
            "{} files, {total} bytes; dry run: nothing written to `{shown}`",
            files.len()
        )
        .map_err(stdout)?;
        return Ok(());
    }

    write::write(&options.destination, destination, &files)?;
    writeln!(
        out,
        "     Created {} project `{}` at `{shown}` ({} files)\n\nNext:\n  cd {shown}\n  make run      # or see its README.md",
        options.kind,
        options.name,
        files.len(),
    )
    .map_err(stdout)
}
