//! The keys that verify tokens, chosen by the token's key id (`kid`), so that a new key can be
//! rolled out while tokens signed with the old one are still about.
//!
//! A token whose `kid` names a key is checked with that key. Any other token, with no `kid` or
//! one that names no key, is checked with the default key (the one configured without an id), if
//! there is one, and refused if not.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};

use super::auth::TokenError;

/// Keys by `kid`, and the default key.
#[derive(Default)]
pub struct KeySet {
    named: HashMap<String, DecodingKey>,
    default: Option<DecodingKey>,
}

impl KeySet {
    /// Add `key`, under `kid` or as the default key; each `kid`, and the default, once only.
    pub fn add(&mut self, kid: Option<String>, key: DecodingKey) -> anyhow::Result<()> {
        match kid {
            Some(kid) => {
                anyhow::ensure!(
                    !self.named.contains_key(&kid),
                    "two keys have the key id `{kid}`"
                );
                self.named.insert(kid, key);
            }
            None => {
                anyhow::ensure!(self.default.is_none(), "two keys have no key id (`kid`)");
                self.default = Some(key);
            }
        }
        Ok(())
    }

    /// The key that checks a token with this `kid`.
    pub fn select(&self, kid: Option<&str>) -> Result<&DecodingKey, TokenError> {
        kid.and_then(|kid| self.named.get(kid))
            .or(self.default.as_ref())
            .ok_or(TokenError::UnknownKey)
    }
}

impl From<DecodingKey> for KeySet {
    /// One key, the default: it checks every token, whatever its `kid`.
    fn from(key: DecodingKey) -> Self {
        Self {
            named: HashMap::new(),
            default: Some(key),
        }
    }
}

/// The keys of a JWKS file (RFC 7517), in the file's order.
pub fn read_jwks(path: &Path) -> anyhow::Result<Vec<Jwk>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read JWKS_FILE `{}`", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .with_context(|| format!("JWKS_FILE `{}` is not a JSON Web Key Set", path.display()))?;
    anyhow::ensure!(
        !set.keys.is_empty(),
        "JWKS_FILE `{}` holds no key",
        path.display()
    );
    Ok(set.keys)
}
