//! Require an RS256 JWT in `authorization` (raw, or after `Bearer` in any case), and pass its
//! claims to the upstream as `decoded-<claim>` headers. A missing or bad token gets 401, and the
//! reason.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::auth::{ValidationArgs, Verifier};
use crate::processor::{Callout, Context};
use crate::reply::HeadersReply;
use crate::tools::{Immediate, header_str};

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
