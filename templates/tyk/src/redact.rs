//! The debug dump of an `Object`: proto3 JSON, as protobuf's `MessageToJson` writes it, with
//! credentials and session secrets replaced by `[redacted]`.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::Value;

use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::coprocess::Object;

const REDACTED: &str = "[redacted]";

/// Request headers whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Session fields that hold secrets, by their JSON names.
const SECRET_SESSION_FIELDS: &[&[&str]] = &[
    &["hmacSecret"],
    &["oauthKeys"],
    &["jwtData", "secret"],
    &["basicAuthData", "hash"],
    &["basicAuthData", "password"],
];

/// `object` as proto3 JSON; secrets are redacted unless `reveal`.
pub fn to_json(object: &Object, reveal: bool) -> String {
    let Ok(message) =
        DynamicMessage::decode(descriptor().clone(), object.encode_to_vec().as_slice())
    else {
        return String::from("{}");
    };
    let mut json = serde_json::to_value(&message).unwrap_or(Value::Null);
    if !reveal {
        redact(&mut json);
    }
    json.to_string()
}

fn descriptor() -> &'static MessageDescriptor {
    static OBJECT: OnceLock<MessageDescriptor> = OnceLock::new();
    OBJECT.get_or_init(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .ok()
            .and_then(|pool| pool.get_message_by_name("coprocess.Object"))
            .expect("the crate's own descriptors describe coprocess.Object")
    })
}

fn redact(object: &mut Value) {
    if let Some(request) = object.get_mut("request") {
        for map in ["headers", "setHeaders"] {
            if let Some(Value::Object(headers)) = request.get_mut(map) {
                redact_headers(headers);
            }
        }
    }
    if let Some(Value::Object(headers)) = object.pointer_mut("/response/headers") {
        redact_headers(headers);
    }
    if let Some(session) = object.get_mut("session") {
        for path in SECRET_SESSION_FIELDS {
            if let Some(value) = path
                .iter()
                .try_fold(&mut *session, |v, key| v.get_mut(*key))
            {
                *value = REDACTED.into();
            }
        }
    }
}

fn redact_headers(headers: &mut serde_json::Map<String, Value>) {
    for (name, value) in headers.iter_mut() {
        if SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            *value = REDACTED.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::coprocess::{JwtData, MiniRequestObject, SessionState};

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let object = Object {
            hook_name: "MyHook".into(),
            request: Some(Box::new(MiniRequestObject {
                headers: [("Authorization".into(), "Signature secret".into())].into(),
                url: "/pets".into(),
                ..Default::default()
            })),
            session: Some(Box::new(SessionState {
                hmac_secret: "s3cret".into(),
                jwt_data: Some(JwtData {
                    secret: "jwt-s3cret".into(),
                }),
                alias: "ada".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let json = to_json(&object, false);
        for secret in ["Signature secret", "s3cret", "jwt-s3cret"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        for kept in ["MyHook", "/pets", "ada", "hookName"] {
            assert!(json.contains(kept), "{kept} missing: {json}");
        }
        assert!(to_json(&object, true).contains("jwt-s3cret"));
    }
}
