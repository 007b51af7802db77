//! Rewrite bytes both ways: what the client sends reaches the upstream in upper case, and what
//! the upstream answers reaches the client in lower case. A client line `quit` closes the
//! connection. The bytes rewritten so far, client to upstream, go to Envoy as dynamic metadata
//! (`callout.rewritten_bytes`), for its access log.

use std::sync::atomic::{AtomicU64, Ordering};

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;
use envoy_types::pb::google::protobuf::Value;
use envoy_types::pb::google::protobuf::value::Kind;

use crate::ext_proc_l4::{NetworkCallout, Outcome};

/// The dynamic-metadata namespace this example writes.
pub const NAMESPACE: &str = "callout";

/// Upper-case what the client sends, lower-case what the upstream answers.
#[derive(Debug, Default)]
pub struct Rewrite;

impl NetworkCallout for Rewrite {
    type State = AtomicU64;

    async fn on_read_data(&self, data: &Data, rewritten: &AtomicU64) -> Outcome {
        if data
            .data
            .split(|&byte| byte == b'\n')
            .any(|line| line.trim_ascii() == b"quit")
        {
            return Outcome::pass().close();
        }
        let bytes = data.data.len() as u64;
        let total = rewritten.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let total = Value {
            kind: Some(Kind::NumberValue(total as f64)),
        };
        Outcome::replace(data.data.to_ascii_uppercase()).metadata(
            NAMESPACE,
            "rewritten_bytes",
            total,
        )
    }

    async fn on_write_data(&self, data: &Data, _rewritten: &AtomicU64) -> Outcome {
        Outcome::replace(data.data.to_ascii_lowercase())
    }
}
