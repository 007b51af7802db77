//! The plugin's configuration: flags, each with an environment variable (see `--help`).

use clap::Parser;

use crate::server::ServerArgs;

/// The plugin's settings.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub hooks: Settings,

    /// Log secrets (Authorization headers, session secrets) unredacted; for local debugging only
    #[arg(long, env = "LOG_SECRETS")]
    pub log_secrets: bool,
}

/// What the hooks read: add your own settings here.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Shared secret of the HMAC request signatures that the custom-auth hook checks
    #[arg(long, env = "HMAC_SECRET", hide_env_values = true)]
    pub hmac_secret: Option<String>,

    /// Seconds that a signed request's `Date` may be off from the plugin's clock
    #[arg(long, env = "HMAC_CLOCK_SKEW_SECS", default_value_t = 300)]
    pub hmac_clock_skew_secs: u64,
}
