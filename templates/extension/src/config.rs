//! The server's configuration: flags, each with an environment variable (see `--help`).

use clap::Parser;

use crate::auth::ValidationArgs;
use crate::public_keys::KeyArgs;
use crate::server::ServerArgs;

/// The server's settings.
#[derive(Debug, Clone, Parser)]
#[command(version = crate::telemetry::version(), about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub keys: KeyArgs,

    /// Client ids allowed to call, comma-separated
    #[arg(long, env = "CLIENT_IDS", value_delimiter = ',', required = true)]
    pub client_ids: Vec<i64>,

    #[command(flatten)]
    pub validation: ValidationArgs,

    /// Verified tokens to remember, so that a reused token skips the RSA check (0: off)
    #[arg(long, env = "TOKEN_CACHE_SIZE", default_value_t = 10_000)]
    pub token_cache_size: u64,
}
