//! What the tests of both callout kinds share: a server of their services on a loopback port, a
//! stream of messages as Envoy sends them, and a check that the protos of reflection describe
//! the wire that envoy-types encodes.
//!
//! A message that envoy-types encodes, decoded against the descriptors, must have only fields
//! that they name, with the values it was built with: a wrong field number or enum value in
//! `proto/`, or a type of another wire type, fails the test that decodes it.

use envoy_types::pb::google::protobuf::value::Kind as ProtoKind;
use envoy_types::pb::google::protobuf::{Struct, Value as ProtoValue};
use futures_util::Stream;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MapKey, ReflectMessage as _, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::server::{self, ServerArgs, Services};

/// Serve `services` on a free loopback port until the test ends, and return the server's URL.
pub(crate) async fn start(services: Services) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let args: ServerArgs = clap::Parser::parse_from(["test"]);
        let forever = std::future::pending();
        server::serve(listener.into(), &args, services, forever).await
    });
    format!("http://{address}")
}

/// A stream of messages to send, and the sender that adds to it.
pub(crate) fn outbound<M: Send + 'static>() -> (mpsc::Sender<M>, impl Stream<Item = M> + Send) {
    let (sender, receiver) = mpsc::channel(8);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|message| (message, receiver))
    });
    (sender, stream)
}

/// `message`, encoded by envoy-types and decoded as `name` from `descriptors`; every field on
/// the wire, at every depth, must be one that they describe.
pub(crate) fn decode(
    descriptors: &[u8],
    name: &str,
    message: &impl tonic_prost::prost::Message,
) -> DynamicMessage {
    let pool = DescriptorPool::decode(descriptors).unwrap();
    let descriptor = pool
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("`{name}` is not described"));
    let decoded = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).unwrap();
    assert_described(&decoded);
    decoded
}

fn assert_described(message: &DynamicMessage) {
    let unknown: Vec<u32> = message
        .unknown_fields()
        .map(|field| field.number())
        .collect();
    assert!(
        unknown.is_empty(),
        "{} has fields {unknown:?} on the wire that proto/ does not describe",
        message.descriptor().full_name()
    );
    for (_, value) in message.fields() {
        match value {
            Value::Message(nested) => assert_described(nested),
            Value::List(items) => items
                .iter()
                .filter_map(Value::as_message)
                .for_each(assert_described),
            Value::Map(entries) => entries
                .values()
                .filter_map(Value::as_message)
                .for_each(assert_described),
            _ => {}
        }
    }
}

/// The value at `path`, field names, list indexes and map keys joined by `/`, as text; an
/// enum value by its name in `proto/`.
pub(crate) fn at(message: &DynamicMessage, path: &str) -> String {
    let mut value = Value::Message(message.clone());
    let mut field = None;
    for step in path.split('/') {
        value = match &value {
            Value::Message(message) => {
                let descriptor = message
                    .descriptor()
                    .get_field_by_name(step)
                    .unwrap_or_else(|| panic!("{path}: no field `{step}`"));
                let next = message.get_field(&descriptor).into_owned();
                field = Some(descriptor);
                next
            }
            Value::List(items) => items[step.parse::<usize>().unwrap()].clone(),
            Value::Map(entries) => entries[&MapKey::String(step.to_owned())].clone(),
            other => panic!("{path}: `{step}` is inside {other:?}"),
        };
    }
    match value {
        Value::EnumNumber(number) => match field.map(|field| field.kind()) {
            Some(Kind::Enum(descriptor)) => descriptor
                .get_value(number)
                .map_or_else(|| number.to_string(), |value| value.name().to_owned()),
            _ => number.to_string(),
        },
        Value::String(text) => text,
        Value::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::U32(number) => number.to_string(),
        Value::I64(number) => number.to_string(),
        other => format!("{other:?}"),
    }
}

/// `{key: {field: text}}`, as Envoy's metadata and attributes nest it.
pub(crate) fn nested(key: &str, field: &str, text: &str) -> Struct {
    let inner = Struct {
        fields: [(field.to_owned(), string(text))].into(),
    };
    let value = ProtoValue {
        kind: Some(ProtoKind::StructValue(inner)),
    };
    Struct {
        fields: [(key.to_owned(), value)].into(),
    }
}

/// A text value.
pub(crate) fn string(text: &str) -> ProtoValue {
    ProtoValue {
        kind: Some(ProtoKind::StringValue(text.to_owned())),
    }
}
