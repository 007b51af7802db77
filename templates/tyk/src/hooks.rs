//! Your hooks: this file is yours. `register` routes the gateway's calls by hook type and by the
//! name in the API definition; adding a hook is one function here and one line in `register`.
//! A name that nothing handles passes the object through unchanged, with a warning.
//!
//! A hook is an `async fn` that changes the `Object` through [`ObjectExt`], and may await other
//! services on the way; see `tyk/apps/` for the API definitions that call these names.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::config::Settings;
use crate::dispatcher::{GatewayEvent, HookError, Hooks};
use crate::object::{ObjectExt as _, Rejection};
use crate::proto::coprocess::{Object, SessionState};
use crate::signature::{self, SignatureError};

/// Route hook names to functions.
pub fn register(hooks: &mut Hooks) {
    hooks
        .pre("MyPrePluginMiddleware", tag_request)
        .custom_key_check("MyAuthCheck", check_signature)
        .post_key_auth("MyPostKeyAuth", forward_key_alias)
        .post("MyPostMiddleware", hide_credentials)
        .response("MyResponseMiddleware", stamp_response)
        .event("MyEventHandler", log_event);
}

/// The API's `config_data` that `tag_request` reads.
#[derive(Deserialize)]
#[serde(default)]
struct TagConfig {
    tag: String,
}

impl Default for TagConfig {
    fn default() -> Self {
        Self { tag: "rust".into() }
    }
}

/// Pre: tell the upstream that the request went through the plugin, with the API's `tag`.
async fn tag_request(object: &mut Object, _: &Settings) -> Result<(), HookError> {
    let TagConfig { tag } = object.config_data()?;
    object.set_header("X-Plugin", &tag);
    object.add_param("plugin", &tag);
    Ok(())
}

/// Custom auth: accept requests signed with a known key (see `signature.rs`), and reject the rest
/// with 400 (malformed) or 401 (missing or wrong). Every request is checked: a signature is fresh
/// each time, so there is nothing that the gateway could safely cache.
async fn check_signature(object: &mut Object, settings: &Settings) -> Result<(), HookError> {
    let Some(request) = object.request.as_ref() else {
        return Err(HookError("the gateway sent no request".into()));
    };
    let verified = signature::verify(
        &signature::Request {
            method: &request.method,
            target: &request.request_uri,
            headers: &request.headers,
            body: &request.raw_body,
        },
        &settings.hmac_keys,
        Duration::from_secs(settings.hmac_clock_skew_secs),
        SystemTime::now(),
    );
    match verified {
        Ok(key_id) => {
            let session = SessionState {
                rate: settings.session_rate,
                per: settings.session_per_secs,
                quota_max: settings.session_quota_max,
                quota_renewal_rate: settings.session_quota_renewal_secs,
                alias: key_id.clone(),
                org_id: object.spec.get("OrgID").cloned().unwrap_or_default(),
                ..SessionState::default()
            };
            object.accept(&key_id, session);
        }
        Err(err @ SignatureError::Malformed(_)) => {
            object.reject(Rejection::bad_request(), &err.to_string());
        }
        Err(err) => {
            let api = object.spec.get("APIID").map_or("", String::as_str);
            let challenge =
                format!(r#"Signature realm="{api}",headers="(request-target) host date digest""#);
            object.reject(
                Rejection::unauthorized().challenge(&challenge),
                &err.to_string(),
            );
        }
    }
    Ok(())
}

/// Post key auth: pass the key's alias, from the session, to the upstream.
async fn forward_key_alias(object: &mut Object, _: &Settings) -> Result<(), HookError> {
    let alias = object
        .session
        .as_ref()
        .map(|session| session.alias.clone())
        .unwrap_or_default();
    if !alias.is_empty() {
        object.set_header("X-Key-Alias", &alias);
    }
    Ok(())
}

/// Post: the upstream needs to know who called, not the caller's credentials.
async fn hide_credentials(object: &mut Object, _: &Settings) -> Result<(), HookError> {
    object.delete_header("Authorization");
    Ok(())
}

/// Response: mark responses that went through the plugin.
async fn stamp_response(object: &mut Object, _: &Settings) -> Result<(), HookError> {
    object.set_response_header("X-Plugin", "rust");
    Ok(())
}

/// Events: log the kind of each gateway event and its API. The event's `meta` may hold the
/// original request, credentials included, so it is not logged.
async fn log_event(event: GatewayEvent) {
    tracing::debug!(event = %event.kind, api = %event.api_id, "gateway event");
}
