//! The debug dump of an `Object`: proto3 JSON, as protobuf's `MessageToJson` writes it, with
//! every value that could hold a secret replaced by `[redacted]`.
//!
//! Redaction goes by what a field can hold, not by its name. Any header, parameter, body,
//! metadata entry, cookie or certificate may carry a credential, so every string and bytes value
//! is redacted, in maps and lists too, except the few fields in [`SHOWN`], which hold the
//! gateway's own identifiers. Names (map keys) stay, and so do numbers, booleans and enums; of a
//! URL, the path and the names of the query parameters stay. A field added to the protos later is
//! redacted until it is listed here.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};

use super::proto::FILE_DESCRIPTOR_SET;
use super::proto::coprocess::Object;

const REDACTED: &str = "[redacted]";

/// The fields shown as they are, by their path of proto field names: what the API definition
/// and the gateway set, never what a client sends.
pub const SHOWN: &[&str] = &[
    "hook_name",
    "request.method",
    "request.scheme",
    "request.delete_headers",
    "request.delete_params",
    "spec.APIID",
    "spec.OrgID",
    "spec.bundle_hash",
    "session.org_id",
    "session.alias",
    "session.apply_policy_id",
    "session.apply_policies",
    "session.access_rights",
    "session.last_updated",
    "session.post_expiry_action",
];

/// The URL fields: their path is shown, and their query's values are redacted.
const URLS: &[&str] = &["request.url", "request.request_uri"];

/// `object` as proto3 JSON; values are redacted unless `reveal`.
pub fn to_json(object: &Object, reveal: bool) -> String {
    let Ok(mut message) =
        DynamicMessage::decode(descriptor().clone(), object.encode_to_vec().as_slice())
    else {
        return String::from("{}");
    };
    if !reveal {
        redact(&mut message, "");
    }
    serde_json::to_string(&message).unwrap_or_default()
}

/// The descriptor of `coprocess.Object`.
fn descriptor() -> &'static MessageDescriptor {
    static OBJECT: OnceLock<MessageDescriptor> = OnceLock::new();
    OBJECT.get_or_init(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .ok()
            .and_then(|pool| pool.get_message_by_name("coprocess.Object"))
            .expect("the crate's own descriptors describe coprocess.Object")
    })
}

fn redact(message: &mut DynamicMessage, path: &str) {
    for (field, value) in message.fields_mut() {
        let path = if path.is_empty() {
            field.name().to_owned()
        } else {
            format!("{path}.{}", field.name())
        };
        if !SHOWN.contains(&path.as_str()) {
            redact_value(value, &path);
        }
    }
}

fn redact_value(value: &mut Value, path: &str) {
    match value {
        Value::String(text) if text.is_empty() => {}
        Value::String(text) if URLS.contains(&path) => *text = redact_query(text),
        Value::String(text) => REDACTED.clone_into(text),
        Value::Bytes(bytes) => *bytes = Default::default(),
        Value::Message(message) => redact(message, path),
        Value::List(items) => items.iter_mut().for_each(|item| redact_value(item, path)),
        Value::Map(entries) => {
            // A map of strings, such as `spec`, may hold a shown identifier under its name.
            for (key, item) in entries.iter_mut() {
                let entry = key.as_str().map(|key| format!("{path}.{key}"));
                if !entry.is_some_and(|entry| SHOWN.contains(&entry.as_str())) {
                    redact_value(item, path);
                }
            }
        }
        // Numbers, booleans and enums say how, not who.
        _ => {}
    }
}

/// `url` with the value of every query parameter redacted.
fn redact_query(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let names: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}={REDACTED}"),
            None => REDACTED.to_owned(),
        })
        .collect();
    format!("{path}?{}", names.join("&"))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use prost_reflect::{Kind, MapKey, ReflectMessage as _};

    use super::*;

    /// Fill every field of `message`, recursively, with a marker that names it, and return the
    /// markers of the fields that must not be shown, and of those that must.
    fn fill(
        message: &mut DynamicMessage,
        path: &str,
        hidden: &mut Vec<String>,
        shown: &mut Vec<String>,
    ) {
        for field in message.descriptor().fields() {
            let path = if path.is_empty() {
                field.name().to_owned()
            } else {
                format!("{path}.{}", field.name())
            };
            let marker = format!("secret-{:03}", hidden.len() + shown.len());
            let secret = if URLS.contains(&path.as_str()) {
                format!("/pets?api_key={marker}")
            } else {
                marker.clone()
            };
            let value = match field.kind() {
                Kind::String => Value::String(secret),
                Kind::Bytes => Value::Bytes(secret.into_bytes().into()),
                Kind::Message(inner) if field.is_map() => {
                    let value_field = inner.map_entry_value_field();
                    let value = match value_field.kind() {
                        Kind::String => Value::String(secret),
                        Kind::Message(entry) => {
                            let mut entry = DynamicMessage::new(entry);
                            fill(&mut entry, &path, hidden, shown);
                            Value::Message(entry)
                        }
                        other => panic!("a map of {other:?} at {path}"),
                    };
                    Value::Map([(MapKey::String("a-name".into()), value)].into())
                }
                Kind::Message(inner) => {
                    let mut inner = DynamicMessage::new(inner);
                    fill(&mut inner, &path, hidden, shown);
                    Value::Message(inner)
                }
                Kind::Enum(_) => Value::EnumNumber(1),
                Kind::Bool => Value::Bool(true),
                Kind::Double => Value::F64(1.5),
                Kind::Float => Value::F32(1.5),
                Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(7),
                Kind::Uint32 | Kind::Fixed32 => Value::U32(7),
                Kind::Uint64 | Kind::Fixed64 => Value::U64(7),
                Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(7),
            };
            if value_holds(&value, &marker) {
                if is_shown(&path) {
                    shown.push(marker)
                } else {
                    hidden.push(marker)
                }
            }
            let value = if field.is_list() {
                Value::List(vec![value])
            } else {
                value
            };
            message.set_field(&field, value);
        }
    }

    /// Whether `path` is in [`SHOWN`], or inside a message that is.
    fn is_shown(path: &str) -> bool {
        SHOWN.iter().any(|shown| {
            path == *shown
                || path
                    .strip_prefix(shown)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    /// Whether `value` is a string or bytes, or a map of them, that holds `marker` itself.
    fn value_holds(value: &Value, marker: &str) -> bool {
        match value {
            Value::String(text) => text.contains(marker),
            Value::Bytes(bytes) => bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            Value::Map(entries) => entries.values().any(|item| value_holds(item, marker)),
            _ => false,
        }
    }

    /// Whether `marker` is in `json`, as text or as the base64 of a bytes field.
    fn appears(json: &str, marker: &str) -> bool {
        json.contains(marker) || json.contains(&STANDARD.encode(marker))
    }

    #[test]
    fn no_value_that_may_hold_a_secret_is_shown() {
        let mut message = DynamicMessage::new(descriptor().clone());
        let (mut hidden, mut shown) = (Vec::new(), Vec::new());
        fill(&mut message, "", &mut hidden, &mut shown);
        let object = Object::decode(message.encode_to_vec().as_slice()).unwrap();

        let json = to_json(&object, false);
        for marker in &hidden {
            assert!(!appears(&json, marker), "{marker} leaked: {json}");
        }
        for marker in &shown {
            assert!(appears(&json, marker), "{marker} missing: {json}");
        }
        for kept in ["hookName", "/pets?api_key=[redacted]", "a-name", "quotaMax"] {
            assert!(json.contains(kept), "{kept} missing: {json}");
        }
        let revealed = to_json(&object, true);
        assert!(hidden.iter().all(|marker| appears(&revealed, marker)));
    }
}
