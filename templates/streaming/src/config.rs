//! The server's configuration: flags, each with an environment variable (see `--help`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use crate::auth::ValidationArgs;
use crate::server::ServerArgs;

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 requires.
pub const MIN_SECRET_LEN: usize = 32;

/// The shared secret that signs the tokens, from a flag, `JWT_SECRET` or a file.
#[derive(Debug, Clone, clap::Args)]
pub struct SecretArgs {
    /// HS256 secret that signs the tokens, at least 32 bytes
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    #[arg(
        required_unless_present = "jwt_secret_file",
        conflicts_with = "jwt_secret_file"
    )]
    pub jwt_secret: Option<String>,

    /// File holding the HS256 secret
    #[arg(long, env = "JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
}

impl SecretArgs {
    /// The secret's bytes; refused when shorter than [`MIN_SECRET_LEN`].
    pub fn load(&self) -> anyhow::Result<Vec<u8>> {
        let secret = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(secret), _) => secret.clone().into_bytes(),
            (None, Some(path)) => read_secret(path)?,
            (None, None) => anyhow::bail!("set JWT_SECRET or JWT_SECRET_FILE"),
        };
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_LEN,
            "JWT_SECRET is {} bytes long; it must be at least {MIN_SECRET_LEN}",
            secret.len()
        );
        Ok(secret)
    }
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let secret = std::fs::read(path)
        .with_context(|| format!("failed to read JWT_SECRET_FILE `{}`", path.display()))?;
    // A trailing newline from `echo` or an editor is not part of the secret.
    Ok(secret.trim_ascii_end().to_vec())
}

/// The server's settings.
#[derive(Debug, Clone, Parser)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,

    #[command(flatten)]
    pub secret: SecretArgs,

    #[command(flatten)]
    pub validation: ValidationArgs,

    /// Messages per stream
    #[arg(long, env = "STREAM_MESSAGES", default_value_t = 5)]
    pub stream_messages: u32,

    /// Milliseconds between two messages of a stream
    #[arg(long, env = "STREAM_INTERVAL_MS", default_value_t = 1000)]
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_interval_ms: u64,
}

impl Config {
    pub fn stream_interval(&self) -> Duration {
        Duration::from_millis(self.stream_interval_ms)
    }
}
