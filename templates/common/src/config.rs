//! The server's configuration: flags, each with an environment variable (see `--help`).

use clap::Parser;

use crate::server::ServerArgs;

/// The server's settings. Add the service's own settings here, next to the server's.
#[derive(Debug, Clone, Parser)]
#[command(version = crate::telemetry::version(), about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
}
