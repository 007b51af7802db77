//! The server's configuration: flags, each with an environment variable (see `--help`).

use clap::Parser;

use crate::examples::Example;
use crate::server::ServerArgs;

/// The callout server's settings.
#[derive(Debug, Clone, Parser)]
#[command(version = crate::telemetry::version(), about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    /// An example callout to run instead of yours (`src/callout.rs`)
    #[arg(long, env = "EXAMPLE", value_enum)]
    pub example: Option<Example>,
}
