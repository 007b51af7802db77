//! What the user typed: the clap definition of the command line, and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::kind::Kind;

const EXAMPLES: &str = "\
Examples:
  grpc-scaffold new billing --kind basic          Write ./billing, a versioned CRUD API
  grpc-scaffold new billing -o services/billing   Choose the destination directory
  grpc-scaffold new billing --proto api/billing.proto -I api
                                                  Serve the services of your own protos
  grpc-scaffold new billing --dry-run             List the files, write nothing
  grpc-scaffold update                            Bring ./ up to this grpc-scaffold and its protos
  grpc-scaffold check --format json               Fail (exit 1) where `update` would change files
  grpc-scaffold list                              Show every kind
  grpc-scaffold completions bash > /etc/bash_completion.d/grpc-scaffold";

/// Scaffold production-ready Rust gRPC servers. No protoc needed.
#[derive(Debug, Parser)]
#[command(name = "grpc-scaffold", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new gRPC server project
    #[command(after_help = EXAMPLES)]
    New(NewArgs),
    /// Bring a project up to this grpc-scaffold and to its own protos, keeping your edits
    Update {
        /// The project's root directory, which holds its `grpc-scaffold.toml`
        #[arg(default_value = ".")]
        dir: PathBuf,

        /// Print a unified diff of what would change, and write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Exit 0 if the project is up to date, and 1 if `update` would change something
    Check {
        /// The project's root directory, which holds its `grpc-scaffold.toml`
        #[arg(default_value = ".")]
        dir: PathBuf,

        /// How to print the files that are out of date
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the kinds of project that `new` can write
    List,
    /// Print shell completions
    Completions {
        /// The shell to complete for
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project name: a Cargo package name such as `billing-plugin`
    pub name: String,

    /// What kind of server to write (see `grpc-scaffold list`) [default: basic, or custom
    /// with --proto]
    #[arg(short, long, value_enum)]
    pub kind: Option<Kind>,

    /// A .proto file whose services to serve (repeatable); implies `--kind custom`
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,

    /// A directory to find imports in (repeatable) [default: the directory of each --proto]
    #[arg(short = 'I', long = "include", value_name = "DIR", requires = "protos")]
    pub includes: Vec<PathBuf>,

    /// The directory to write into [default: ./<NAME>]
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Write into a non-empty directory: files that grpc-scaffold generates are overwritten
    /// where they are unchanged since it wrote them, and refused where you edited them (other
    /// files are left alone)
    #[arg(long)]
    pub force: bool,

    /// Print the files that would be written, with their sizes, and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Where the project gets grpc-scaffold-runtime: `vendor` (a copy in
    /// vendor/grpc-scaffold-runtime, which `update` replaces whole), `crates-io`, or the path of
    /// a checkout of the runtime
    #[arg(long, value_name = "SOURCE", default_value = "vendor")]
    pub runtime: crate::runtime::Source,
}

/// How `check` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per file, for people
    Text,
    /// One JSON object, for CI
    Json,
}
