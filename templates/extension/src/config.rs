//! The server's configuration: flags, each with an environment variable (see `--help`).

use std::path::PathBuf;

use clap::Parser;

use crate::auth::ValidationArgs;
use crate::server::ServerArgs;

/// The server's settings.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    /// RS256 public key that signs the access tokens, as PEM text
    #[arg(long, env = "PUBLIC_KEY", hide_env_values = true)]
    #[arg(
        required_unless_present = "public_key_file",
        conflicts_with = "public_key_file"
    )]
    pub public_key: Option<String>,

    /// File holding the RS256 public key, as PEM
    #[arg(long, env = "PUBLIC_KEY_FILE")]
    pub public_key_file: Option<PathBuf>,

    /// Client ids allowed to call, comma-separated
    #[arg(long, env = "CLIENT_IDS", value_delimiter = ',', required = true)]
    pub client_ids: Vec<i64>,

    #[command(flatten)]
    pub validation: ValidationArgs,

    /// Verified tokens to remember, so that a reused token skips the RSA check (0: off)
    #[arg(long, env = "TOKEN_CACHE_SIZE", default_value_t = 10_000)]
    pub token_cache_size: usize,
}
