//! Require an RS256 JWT in `authorization` (raw, or after `Bearer` in any case), and pass its
//! claims to the upstream as `decoded-<claim>` headers. A missing or bad token gets 401, and the
//! reason.

use std::path::PathBuf;

use anyhow::Context as _;
use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::ext_proc::tools::{Immediate, header_str};
use crate::ext_proc::{Callout, Context, HeadersReply};
use crate::jwt::auth::{ValidationArgs, Verifier};

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

    /// How strictly tokens are checked.
    #[command(flatten)]
    pub validation: ValidationArgs,
}

impl JwtArgs {
    /// The public key, from `--public-key` or else `--public-key-file`; read at startup, so
    /// that a missing or bad key stops the server before it serves.
    pub fn public_key(&self) -> anyhow::Result<DecodingKey> {
        let pem = match (&self.public_key, &self.public_key_file) {
            (Some(pem), _) => pem.clone().into_bytes(),
            (None, Some(path)) => std::fs::read(path)
                .with_context(|| format!("failed to read PUBLIC_KEY_FILE `{}`", path.display()))?,
            (None, None) => {
                anyhow::bail!("the jwt_auth example needs PUBLIC_KEY or PUBLIC_KEY_FILE")
            }
        };
        DecodingKey::from_rsa_pem(&pem).context("PUBLIC_KEY is not an RSA public key in PEM format")
    }
}

/// Check each request's token, and pass its claims upstream.
#[derive(Debug)]
pub struct JwtAuth {
    verifier: Verifier,
}

impl JwtAuth {
    /// Check tokens signed by `key`, as `validation` says.
    pub fn new(key: DecodingKey, validation: &ValidationArgs) -> Self {
        Self {
            verifier: Verifier::new(Algorithm::RS256, key.into(), validation),
        }
    }
}

impl Callout for JwtAuth {
    type State = ();

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        let value = header_str(headers, "authorization").unwrap_or_default();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => value.trim(),
        };
        let claims = match self.verifier.verify(token) {
            Ok(claims) => claims,
            Err(err) => {
                return Immediate::status(401)
                    .header("content-type", "text/plain")
                    .header("www-authenticate", "Bearer")
                    .body(format!("unauthorized: {err}\n"))
                    .details(format!("jwt_auth: {err}"))
                    .into();
            }
        };
        // Set rather than added, so that a client cannot smuggle in claims of its own.
        let mut reply = HeadersReply::new().remove_header("authorization");
        for (name, value) in &claims {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            reply = reply.set_header(&claim_header(name), value);
        }
        reply.clear_route_cache()
    }
}

/// The header that carries claim `name`: `decoded-` and the name, with every character that a
/// header name cannot hold made `-`, so a namespaced claim such as `https://x/roles` becomes
/// `decoded-https---x-roles`.
pub fn claim_header(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("decoded-{name}")
}

#[cfg(test)]
mod tests {
    use super::claim_header;

    #[test]
    fn claim_names_become_valid_header_names() {
        assert_eq!(claim_header("sub"), "decoded-sub");
        assert_eq!(claim_header("https://x/roles"), "decoded-https---x-roles");
        assert_eq!(claim_header("Given Name"), "decoded-given-name");
        assert!(
            claim_header("a:b/ü")
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && byte != b':')
        );
    }
}
