//! The RS256 public keys that verify access tokens: a default key from `PUBLIC_KEY` or
//! `PUBLIC_KEY_FILE`, and keys by `kid` from a folder of PEM files or a JWKS file, so that a new
//! signing key can be rolled out without a moment in which valid tokens are refused.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::AlgorithmParameters;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPublicKey};

use super::keys::{KeySet, read_jwks};

/// The smallest RSA key accepted, as RFC 7518 requires for RS256.
pub const MIN_RSA_BITS: usize = 2048;

/// Where the public keys come from; at least one is required.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = true)]
pub struct KeyArgs {
    /// The default public key: PEM text (with newlines or `\n` escapes), or a PEM file's path
    #[arg(long, env = "PUBLIC_KEY", hide_env_values = true)]
    #[arg(conflicts_with = "public_key_file")]
    pub public_key: Option<String>,

    /// File holding the default public key, as PEM
    #[arg(long, env = "PUBLIC_KEY_FILE")]
    pub public_key_file: Option<PathBuf>,

    /// Folder of PEM public keys, each file named after its key id: `<kid>.pem`
    #[arg(long, env = "PUBLIC_KEYS_DIR")]
    pub public_keys_dir: Option<PathBuf>,

    /// JWKS file (RFC 7517) of RSA public keys, each with its `kid`
    #[arg(long, env = "JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
}

impl KeyArgs {
    /// Every configured key; a key that cannot be read, or is under [`MIN_RSA_BITS`], fails.
    pub fn load(&self) -> anyhow::Result<KeySet> {
        let mut keys = KeySet::default();
        if let Some(value) = &self.public_key {
            let key = if value.contains("-----BEGIN") {
                // Env files often hold a PEM on one line, its newlines written as `\n`.
                from_pem(&value.replace("\\n", "\n"), "PUBLIC_KEY")?
            } else {
                let path = Path::new(value);
                anyhow::ensure!(
                    path.is_file(),
                    "PUBLIC_KEY is neither PEM text nor the path of a file"
                );
                from_file(path, "PUBLIC_KEY")?
            };
            keys.add(None, key)?;
        }
        if let Some(path) = &self.public_key_file {
            keys.add(None, from_file(path, "PUBLIC_KEY_FILE")?)?;
        }
        if let Some(dir) = &self.public_keys_dir {
            for (kid, path) in pem_files(dir)? {
                keys.add(Some(kid), from_file(&path, "PUBLIC_KEYS_DIR")?)?;
            }
        }
        if let Some(path) = &self.jwks_file {
            for jwk in read_jwks(path)? {
                let kid = jwk.common.key_id.clone();
                let name = format!("the key `{}` of JWKS_FILE", kid.as_deref().unwrap_or(""));
                let AlgorithmParameters::RSA(params) = &jwk.algorithm else {
                    anyhow::bail!("{name} is not an RSA key");
                };
                let number = |base64: &str| {
                    URL_SAFE_NO_PAD
                        .decode(base64)
                        .map(|bytes| BigUint::from_bytes_be(&bytes))
                        .with_context(|| format!("{name} is not valid base64url"))
                };
                let key = RsaPublicKey::new(number(&params.n)?, number(&params.e)?)
                    .with_context(|| format!("{name} is not a valid RSA key"))?;
                keys.add(kid, checked(&key, &name)?)?;
            }
        }
        Ok(keys)
    }
}

/// The `*.pem` files of `dir`, by key id, in name order.
fn pem_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("failed to read PUBLIC_KEYS_DIR `{}`", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "pem")
            && let Some(kid) = path.file_stem().and_then(|stem| stem.to_str())
        {
            files.push((kid.to_owned(), path.clone()));
        }
    }
    anyhow::ensure!(
        !files.is_empty(),
        "PUBLIC_KEYS_DIR `{}` holds no `.pem` file",
        dir.display()
    );
    files.sort();
    Ok(files)
}

fn from_file(path: &Path, setting: &str) -> anyhow::Result<DecodingKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {setting} `{}`", path.display()))?;
    from_pem(&pem, &format!("{setting} `{}`", path.display()))
}

/// An SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM.
fn from_pem(pem: &str, name: &str) -> anyhow::Result<DecodingKey> {
    let key = RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| anyhow::anyhow!("{name} is not an RSA public key in PEM format"))?;
    checked(&key, name)
}

/// `key` for jsonwebtoken, if it is long enough.
fn checked(key: &RsaPublicKey, name: &str) -> anyhow::Result<DecodingKey> {
    let bits = key.n().bits();
    anyhow::ensure!(
        bits >= MIN_RSA_BITS,
        "{name} is a {bits}-bit RSA key; RS256 needs at least {MIN_RSA_BITS} bits"
    );
    Ok(DecodingKey::from_rsa_raw_components(
        &key.n().to_bytes_be(),
        &key.e().to_bytes_be(),
    ))
}
