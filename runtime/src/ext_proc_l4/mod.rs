//! Envoy's network external processing (the `envoy.filters.network.ext_proc` filter): a
//! [`NetworkCallout`] sees each chunk of a TCP connection's bytes, each way, and answers with an
//! [`Outcome`]; the [`Processor`] serves it as Envoy's `NetworkExternalProcessor`. The
//! [`examples`] are callouts to run as they are, or to start from, picked by `--example`
//! ([`CalloutArgs`]).
//!
//! ```no_run
//! use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;
//! use grpc_scaffold_runtime::ext_proc_l4::{NetworkCallout, Outcome};
//!
//! /// Refuse connections whose first bytes are not TLS.
//! struct TlsOnly;
//!
//! impl NetworkCallout for TlsOnly {
//!     type State = ();
//!
//!     async fn on_read_data(&self, data: &Data, _state: &()) -> Outcome {
//!         match data.data.first() {
//!             Some(0x16) | None => Outcome::pass(),
//!             Some(_) => Outcome::pass().reset(),
//!         }
//!     }
//! }
//! ```

pub mod examples;
pub mod processor;
#[cfg(test)]
mod tests;

pub use examples::Example;
pub use processor::{Direction, NetworkCallout, Outcome, Processor};

use crate::server::{MessageLimits, Services};

/// Envoy's protos of the `NetworkExternalProcessor` service, encoded, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ext_proc_l4");

/// Which callout the server runs: the project's own, unless `--example` picks one.
#[derive(Debug, Clone, clap::Args)]
pub struct CalloutArgs {
    /// An example callout to run instead of yours (`src/callout.rs`)
    #[arg(long, env = "EXAMPLE", value_enum)]
    pub example: Option<Example>,
}

impl CalloutArgs {
    /// The services of a server that runs the example that `--example` picks, or else
    /// `callout`, with the message-size `limits`. This kind has no setting that can be wrong,
    /// so it never fails; the HTTP kind's does, when an example lacks its key.
    pub fn services<C: NetworkCallout>(
        &self,
        limits: MessageLimits,
        callout: C,
    ) -> anyhow::Result<Services> {
        let mut services = Services::default();
        match self.example {
            None => serve(&mut services, limits, callout),
            Some(Example::Basic) => serve(&mut services, limits, examples::basic::Basic),
            Some(Example::Rewrite) => serve(&mut services, limits, examples::rewrite::Rewrite),
            Some(Example::SlowLookup) => {
                serve(&mut services, limits, examples::slow_lookup::SlowLookup);
            }
        }
        Ok(services)
    }
}

/// Serve `callout` as the processor, with the message-size `limits`, and describe it in
/// reflection.
pub fn serve<C: NetworkCallout>(services: &mut Services, limits: MessageLimits, callout: C) {
    services.add(
        Processor::new(callout)
            .into_service()
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    services.describe(FILE_DESCRIPTOR_SET);
}
