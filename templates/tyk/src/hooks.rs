//! Your hooks: this file is yours. `register` routes the gateway's calls by hook type and by the
//! name in the API definition; adding a hook is one function here and one line in `register`.
//! A name that nothing handles passes the object through unchanged, with a warning.
//!
//! A hook is an `async fn` that changes the `Object` through [`ObjectExt`], and may await other
//! services on the way; see `tyk/apps/` for the API definitions that call these names.

use std::time::Duration;

use serde_json::Value;

use crate::config::Settings;
use crate::dispatcher::{HookError, Hooks};
use crate::object::{ObjectExt as _, Rejection};
use crate::proto::coprocess::{Object, SessionState};
use crate::signature::{self, SignatureError};

/// How long the gateway may reuse a session without calling the auth hook again.
const SESSION_CACHE: Duration = Duration::from_secs(60);

/// Route hook names to functions.
pub fn register(hooks: &mut Hooks) {
    hooks
        .pre("MyPrePluginMiddleware", tag_request)
        .custom_key_check("MyAuthCheck", check_signature)
        .post_key_auth("MyPostKeyAuth", forward_key_alias)
        .post("MyPostMiddleware", hide_credentials)
        .response("MyResponseMiddleware", stamp_response)
        .events(log_event);
}

/// Pre: tell the upstream that the request went through the plugin.
async fn tag_request(object: &mut Object, _: &Settings) -> Result<(), HookError> {
    object.set_header("X-Plugin", "rust");
    object.add_param("plugin", "rust");
    Ok(())
}

/// Custom auth: accept requests signed with the shared HMAC secret, and reject the rest with
/// 400 (malformed) or 401 (missing or wrong).
async fn check_signature(object: &mut Object, settings: &Settings) -> Result<(), HookError> {
    let Some(secret) = &settings.hmac_secret else {
        tracing::error!("HMAC_SECRET is not set; refusing every signed request");
        object.reject(Rejection::Unauthorized, "authentication is not configured");
        return Ok(());
    };
    let verified = signature::verify(
        object.header("Authorization"),
        object.header("Date"),
        secret.as_bytes(),
        Duration::from_secs(settings.hmac_clock_skew_secs),
    );
    match verified {
        Ok(key_id) => {
            let session = SessionState {
                rate: 100.0,
                per: 1.0,
                quota_max: -1,
                alias: key_id.clone(),
                org_id: object.spec.get("OrgID").cloned().unwrap_or_default(),
                ..SessionState::default()
            };
            object.accept(&key_id, session, SESSION_CACHE);
        }
        Err(err @ SignatureError::Malformed(_)) => {
            object.reject(Rejection::BadRequest, &err.to_string());
        }
        Err(err) => object.reject(Rejection::Unauthorized, &err.to_string()),
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

/// Events: log the kind of each gateway event.
async fn log_event(event: Value) {
    let kind = event
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    tracing::info!(event = kind, "gateway event");
}
