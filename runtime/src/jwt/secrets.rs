//! The HS256 secrets that sign and verify tokens: a default one from a flag, `JWT_SECRET` or a
//! file, and secrets by key id (`kid`) from a JWKS file, so that a new secret can be rolled out
//! while tokens signed with the old one are still about.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::AlgorithmParameters;

use super::keys::{KeySet, read_jwks};

/// The shortest HS256 secret accepted: 256 bits, as RFC 7518 requires.
pub const MIN_SECRET_LEN: usize = 32;

/// The shared secrets that sign the tokens: a default one from a flag, `JWT_SECRET` or a file,
/// and secrets by key id (`kid`) from a JWKS file, for rotation.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = true)]
pub struct SecretArgs {
    /// HS256 secret that signs the tokens, at least 32 bytes
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    #[arg(conflicts_with = "jwt_secret_file")]
    pub jwt_secret: Option<String>,

    /// File holding the HS256 secret
    #[arg(long, env = "JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// JWKS file (RFC 7517) of HS256 secrets (`"kty": "oct"`), each with its `kid`; the first
    /// signs the client's tokens
    #[arg(long, env = "JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// Accept secrets shorter than 32 bytes, which make tokens forgeable by guessing the secret;
    /// only for clients that cannot change theirs yet
    #[arg(long, env = "JWT_ALLOW_WEAK_SECRET")]
    pub allow_weak_secret: bool,
}

/// A secret, and its key id if it has one.
pub struct Secret {
    /// The key id that tokens signed with it carry in their header, if any.
    pub kid: Option<String>,
    /// The secret itself.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("Secret")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SecretArgs {
    /// The secrets: those of the JWKS file in its order, then the default one. One shorter than
    /// [`MIN_SECRET_LEN`] is refused, unless `--allow-weak-secret` says otherwise.
    pub fn load(&self) -> anyhow::Result<Vec<Secret>> {
        let mut secrets = Vec::new();
        if let Some(path) = &self.jwks_file {
            for jwk in read_jwks(path)? {
                let kid = jwk.common.key_id.clone();
                let name = format!("the key `{}` of JWKS_FILE", kid.as_deref().unwrap_or(""));
                let AlgorithmParameters::OctetKey(params) = &jwk.algorithm else {
                    anyhow::bail!("{name} is not an HS256 secret (`\"kty\": \"oct\"`)");
                };
                let bytes = URL_SAFE_NO_PAD
                    .decode(&params.value)
                    .with_context(|| format!("{name} is not valid base64url"))?;
                secrets.push((name, Secret { kid, bytes }));
            }
        }
        let default = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(secret), _) => Some(secret.clone().into_bytes()),
            (None, Some(path)) => Some(read_secret(path)?),
            (None, None) => None,
        };
        if let Some(bytes) = default {
            secrets.push(("JWT_SECRET".to_owned(), Secret { kid: None, bytes }));
        }
        for (name, secret) in &secrets {
            let len = secret.bytes.len();
            if len >= MIN_SECRET_LEN {
                continue;
            }
            anyhow::ensure!(
                self.allow_weak_secret,
                "{name} is {len} bytes long; it must be at least {MIN_SECRET_LEN}, or set \
                 JWT_ALLOW_WEAK_SECRET=true for clients that cannot change theirs yet"
            );
            tracing::warn!(
                "{name} is {len} bytes long, under {MIN_SECRET_LEN}: anyone who sees one token \
                 can guess the secret offline and forge tokens for any user; accepted because \
                 JWT_ALLOW_WEAK_SECRET is set"
            );
        }
        Ok(secrets.into_iter().map(|(_, secret)| secret).collect())
    }

    /// The secrets, as the keys that verify tokens.
    pub fn keys(&self) -> anyhow::Result<KeySet> {
        let mut keys = KeySet::default();
        for secret in self.load()? {
            keys.add(secret.kid, DecodingKey::from_secret(&secret.bytes))?;
        }
        Ok(keys)
    }
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let secret = std::fs::read(path)
        .with_context(|| format!("failed to read JWT_SECRET_FILE `{}`", path.display()))?;
    // A trailing newline from `echo` or an editor is not part of the secret.
    Ok(secret.trim_ascii_end().to_vec())
}
