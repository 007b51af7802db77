//! Validated options: the raw command line turned into facts the pipeline can rely on.
//!
//! Everything that can be checked before rendering is checked here, so that a bad name fails in
//! microseconds, before any template is touched.

use std::path::PathBuf;

use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::naming;

/// What to generate, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Cargo package name, checked by [`naming::check_package_name`].
    pub name: String,
    pub kind: Kind,
    pub destination: PathBuf,
    pub force: bool,
    pub dry_run: bool,
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
        })
    }
}

impl TryFrom<NewArgs> for Options {
    type Error = Error;

    fn try_from(args: NewArgs) -> Result<Self> {
        let mut options = Options::new(&args.name, args.kind)?;
        if let Some(output) = args.output {
            options.destination = output;
        }
        options.force = args.force;
        options.dry_run = args.dry_run;
        Ok(options)
    }
}
