//! The services this server hosts: the processor, running your callout, or the example that
//! `--example` picks.

use crate::callout::MyCallout;
use crate::config::Config;
use crate::examples::{self, Example};
use crate::processor::{NetworkCallout, Processor};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::server::{MessageLimits, Services};

/// Build the services from `config`.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let mut services = Services::default();
    let limits = config.server.message_limits();
    match config.example {
        None => serve(&mut services, limits, MyCallout),
        Some(Example::Basic) => serve(&mut services, limits, examples::basic::Basic),
        Some(Example::Rewrite) => serve(&mut services, limits, examples::rewrite::Rewrite),
        Some(Example::SlowLookup) => {
            serve(&mut services, limits, examples::slow_lookup::SlowLookup);
        }
    }
    Ok(services)
}

/// Serve `callout` as the processor, with the server's message-size limits, and describe it in
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
