//! Answer the two directions independently: what the client sends waits out a slow lookup
//! before it passes, and what the upstream answers passes at once, so that a server-first
//! upstream's greeting reaches the client first. Keep a lookup under the `message_timeout` of
//! `envoy/envoy.yaml` (1 s), or Envoy closes the connection.

use std::time::Duration;

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;

use crate::ext_proc_l4::{NetworkCallout, Outcome};

/// A stand-in for an asynchronous lookup, such as a call to another service.
pub const LOOKUP: Duration = Duration::from_millis(500);

/// Pass what the client sends after a [`LOOKUP`], and what the upstream answers at once.
#[derive(Debug, Default)]
pub struct SlowLookup;

impl NetworkCallout for SlowLookup {
    type State = ();

    async fn on_read_data(&self, _data: &Data, _state: &()) -> Outcome {
        tokio::time::sleep(LOOKUP).await;
        Outcome::pass()
    }

    async fn on_write_data(&self, _data: &Data, _state: &()) -> Outcome {
        Outcome::pass()
    }
}
