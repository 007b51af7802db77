//! Your network callout. It starts as the seed's `basic` behaviour, passing everything through
//! and logging each chunk at DEBUG: change it, and `src/services.rs` serves it whenever `EXAMPLE`
//! is unset. A direction you leave out passes its bytes through.

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;
use grpc_scaffold_runtime::ext_proc_l4::{NetworkCallout, Outcome};
use tracing::debug;

#[derive(Debug, Default)]
pub struct MyCallout;

impl NetworkCallout for MyCallout {
    type State = ();

    async fn on_read_data(&self, data: &Data, _state: &()) -> Outcome {
        debug!(
            bytes = data.data.len(),
            end_of_stream = data.end_of_stream,
            "client to upstream"
        );
        Outcome::pass()
    }

    async fn on_write_data(&self, data: &Data, _state: &()) -> Outcome {
        debug!(
            bytes = data.data.len(),
            end_of_stream = data.end_of_stream,
            "upstream to client"
        );
        Outcome::pass()
    }
}
