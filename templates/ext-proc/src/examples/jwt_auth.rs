//! Require an RS256 JWT in `authorization` (with or without `Bearer `), and pass its claims to
//! the upstream as `decoded-<claim>` headers. A missing or bad token gets 401, and the reason.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::auth::{ValidationArgs, Verifier};
use crate::callout::{Callout, Reply};
use crate::tools::{Changes, Immediate, header_str};

#[derive(Debug)]
pub struct JwtAuth {
    verifier: Verifier,
}

impl JwtAuth {
    pub fn new(key: DecodingKey, validation: &ValidationArgs) -> Self {
        Self {
            verifier: Verifier::new(Algorithm::RS256, key.into(), validation),
        }
    }
}

impl Callout for JwtAuth {
    type State = ();

    async fn on_request_headers(&self, headers: &HttpHeaders, _state: &mut ()) -> Reply {
        let value = header_str(headers, "authorization").unwrap_or_default();
        let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        let claims = match self.verifier.verify(token) {
            Ok(claims) => claims,
            Err(err) => {
                return Immediate::status(401)
                    .header("content-type", "text/plain")
                    .header("www-authenticate", "Bearer")
                    .body(format!("unauthorized: {err}\n"))
                    .details(format!("jwt_auth: {err}"))
                    .into_reply();
            }
        };
        // Set rather than added, so that a client cannot smuggle in claims of its own.
        let mut changes = Changes::new().remove_header("authorization");
        for (name, value) in &claims {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            changes = changes.set_header(&format!("decoded-{name}"), value);
        }
        changes.clear_route_cache().into_reply()
    }
}
