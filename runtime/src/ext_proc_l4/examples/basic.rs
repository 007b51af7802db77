//! The seed's basic network callout, kept as the reference that `src/callout.rs` starts from:
//! pass everything through, and log each chunk and the connection's totals at DEBUG.

use std::sync::atomic::{AtomicUsize, Ordering};

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;
use tracing::debug;

use crate::ext_proc_l4::{NetworkCallout, Outcome};

/// Pass everything through, and log it.
#[derive(Debug, Default)]
pub struct Basic;

/// Bytes seen on one connection, each way.
#[derive(Debug, Default)]
pub struct Totals {
    read: AtomicUsize,
    written: AtomicUsize,
}

impl NetworkCallout for Basic {
    type State = Totals;

    async fn on_read_data(&self, data: &Data, totals: &Totals) -> Outcome {
        let total = totals.read.fetch_add(data.data.len(), Ordering::Relaxed) + data.data.len();
        debug!(
            bytes = data.data.len(),
            total,
            end_of_stream = data.end_of_stream,
            "client to upstream"
        );
        Outcome::pass()
    }

    async fn on_write_data(&self, data: &Data, totals: &Totals) -> Outcome {
        let total = totals.written.fetch_add(data.data.len(), Ordering::Relaxed) + data.data.len();
        debug!(
            bytes = data.data.len(),
            total,
            end_of_stream = data.end_of_stream,
            "upstream to client"
        );
        Outcome::pass()
    }
}
