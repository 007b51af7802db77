//! Validated options: the raw command line turned into facts the pipeline can rely on.
//!
//! Everything that can be checked before rendering is checked here, so that a bad name fails in
//! microseconds, before any template is touched.

use std::path::PathBuf;

use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::{naming, runtime};

/// What to generate, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Cargo package name, checked by [`naming::check_package_name`].
    pub name: String,
    pub kind: Kind,
    pub destination: PathBuf,
    pub force: bool,
    pub dry_run: bool,
    /// The user's proto files, for `custom`.
    pub protos: Vec<PathBuf>,
    /// Where their imports are found; empty means each file's directory.
    pub includes: Vec<PathBuf>,
    /// Where the project gets the runtime crate from.
    pub runtime: runtime::Source,
}

impl Options {
    /// Options for writing `kind` as `name` into `./<name>`.
    pub fn new(name: &str, kind: Kind) -> Result<Self> {
        if let Err(reason) = naming::check_package_name(name) {
            return Err(Error::InvalidName {
                name: name.to_owned(),
                reason,
                help: format!(
                    "a valid name would be `{}`",
                    naming::suggest_package_name(name)
                ),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            kind,
            destination: PathBuf::from(name),
            force: false,
            dry_run: false,
            protos: Vec::new(),
            includes: Vec::new(),
            runtime: runtime::Source::default(),
        })
    }
}

impl TryFrom<NewArgs> for Options {
    type Error = Error;

    fn try_from(args: NewArgs) -> Result<Self> {
        let kind = match (args.kind, args.protos.is_empty()) {
            (None, true) => Kind::Basic,
            (None | Some(Kind::Custom), false) => Kind::Custom,
            (Some(Kind::Custom), true) => return Err(Error::NoProtos),
            (Some(kind), false) => return Err(Error::ProtosWithKind { kind }),
            (Some(kind), true) => kind,
        };
        let mut options = Options::new(&args.name, kind)?;
        options.protos = args.protos;
        options.includes = args.includes;
        if let Some(output) = args.output {
            options.destination = output;
        }
        options.runtime = args.runtime;
        options.force = args.force;
        options.dry_run = args.dry_run;
        Ok(options)
    }
}
