//! The server's configuration: flags, each with an environment variable (see `--help`).

use clap::Parser;

use crate::examples::Example;
use crate::server::ServerArgs;

/// The callout server's settings.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    /// The example callout to run
    #[arg(long, env = "EXAMPLE", value_enum, default_value_t)]
    pub example: Example,
}
