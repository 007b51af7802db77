//! Pass everything through, and log each chunk and the connection's totals at DEBUG.

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;
use tracing::debug;

use crate::callout::{NetworkCallout, Outcome};

#[derive(Debug, Default)]
pub struct Basic;

/// Bytes seen on one connection, each way.
#[derive(Debug, Default)]
pub struct Totals {
    read: usize,
    written: usize,
}

impl NetworkCallout for Basic {
    type State = Totals;

    async fn on_read_data(&self, data: &Data, totals: &mut Totals) -> Outcome {
        totals.read += data.data.len();
        debug!(
            bytes = data.data.len(),
            total = totals.read,
            end_of_stream = data.end_of_stream,
            "client to upstream"
        );
        Outcome::pass()
    }

    async fn on_write_data(&self, data: &Data, totals: &mut Totals) -> Outcome {
        totals.written += data.data.len();
        debug!(
            bytes = data.data.len(),
            total = totals.written,
            end_of_stream = data.end_of_stream,
            "upstream to client"
        );
        Outcome::pass()
    }
}
