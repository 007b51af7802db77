//! The kinds of project grpc-scaffold writes.
//!
//! A kind is a variant here plus a folder `templates/<kind>/`; its one-line summary lives in the
//! folder's `template.toml`, next to the files it describes.

use std::fmt;

use clap::ValueEnum;

/// A kind of generated project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Kind {
    Basic,
    Extension,
    Streaming,
    Tyk,
    ExtProc,
    ExtProcL4,
    Custom,
}

impl Kind {
    /// The kind's name on the command line, and the name of its template folder.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Basic => "basic",
            Kind::Extension => "extension",
            Kind::Streaming => "streaming",
            Kind::Tyk => "tyk",
            Kind::ExtProc => "ext-proc",
            Kind::ExtProcL4 => "ext-proc-l4",
            Kind::Custom => "custom",
        }
    }

    /// Every kind, in the order `list` shows them.
    pub fn all() -> &'static [Kind] {
        Kind::value_variants()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
