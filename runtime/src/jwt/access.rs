//! Who may call: the rules an access token's claims must meet once its signature is verified.
//! `type` must be `access`, `client_id` must be an allowed client, and `scopes` (an array, or a
//! space-separated string) must hold the required scope.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::auth::{Claims, excerpt, numeric_date};

/// The scope every caller needs.
pub const REQUIRED_SCOPE: &str = "client_super";

/// A verified access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The `client_id` claim.
    pub client_id: i64,
    /// The `scopes` claim, one scope an item.
    pub scopes: Vec<String>,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
    /// Every claim, for the business logic.
    pub claims: Claims,
}

/// Why a verified token may still not call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// `client_id` is absent or not an integer.
    NoClientId,
    /// `client_id` is not in `CLIENT_IDS`.
    Client(i64),
    /// `type` is not `access`; the type as [`excerpt`] shows it.
    NotAccess(String),
    /// `scopes` lacks [`REQUIRED_SCOPE`].
    Scope,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoClientId => f.write_str("token has no integer `client_id` claim"),
            Self::Client(id) => write!(f, "client {id} is not allowed"),
            Self::NotAccess(kind) => {
                write!(
                    f,
                    "token type is `{kind}`, but an `access` token is required"
                )
            }
            Self::Scope => write!(f, "token lacks the `{REQUIRED_SCOPE}` scope"),
        }
    }
}

/// The clients allowed to call.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    client_ids: BTreeSet<i64>,
}

impl AccessPolicy {
    /// Allow `client_ids`, and no other client.
    pub fn new(client_ids: impl IntoIterator<Item = i64>) -> Self {
        Self {
            client_ids: client_ids.into_iter().collect(),
        }
    }

    /// Check `claims`, whose signature and `exp` are already verified.
    pub fn check(&self, claims: Claims) -> Result<AccessToken, Denied> {
        // Not an access token at all comes first: it is an authentication failure.
        match claims.get("type").and_then(Value::as_str) {
            Some("access") => {}
            other => return Err(Denied::NotAccess(excerpt(other.unwrap_or_default()))),
        }
        let client_id = match claims.get("client_id") {
            Some(Value::Number(id)) => id.as_i64(),
            Some(Value::String(id)) => id.parse().ok(),
            _ => None,
        }
        .ok_or(Denied::NoClientId)?;
        if !self.client_ids.contains(&client_id) {
            return Err(Denied::Client(client_id));
        }
        let scopes: Vec<String> = match claims.get("scopes") {
            Some(Value::String(scopes)) => scopes.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(scopes)) => scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        if !scopes.iter().any(|scope| scope == REQUIRED_SCOPE) {
            return Err(Denied::Scope);
        }
        let expires_at = numeric_date(&claims, "exp")
            .ok()
            .flatten()
            .unwrap_or_default();
        Ok(AccessToken {
            client_id,
            scopes,
            expires_at,
            claims,
        })
    }
}
