//! The server's configuration: flags, each with an environment variable (see `--help`).

use std::path::PathBuf;

use clap::Parser;

use crate::auth::ValidationArgs;
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

    #[command(flatten)]
    pub jwt: JwtArgs,
}

/// The key and rules of the `jwt_auth` example.
#[derive(Debug, Clone, clap::Args)]
pub struct JwtArgs {
    /// RS256 public key that signs the tokens, as PEM text (for `--example jwt_auth`)
    #[arg(
        long,
        env = "PUBLIC_KEY",
        hide_env_values = true,
        conflicts_with = "public_key_file"
    )]
    pub public_key: Option<String>,

    /// File holding the RS256 public key, as PEM (for `--example jwt_auth`)
    #[arg(long, env = "PUBLIC_KEY_FILE")]
    pub public_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub validation: ValidationArgs,
}
