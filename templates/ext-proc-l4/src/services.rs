//! The services this server hosts: the processor, running the example that `--example` picks.

use crate::callout::{NetworkCallout, Processor};
use crate::config::Config;
use crate::examples::{self, Example};
use crate::server::Services;

/// Build the services from `config`.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let mut services = Services::default();
    let limit = config.server.max_message_bytes();
    match config.example {
        Example::Basic => serve(&mut services, limit, examples::basic::Basic),
        Example::Rewrite => serve(&mut services, limit, examples::rewrite::Rewrite),
    }
    Ok(services)
}

/// Serve `callout` as the processor, with the server's message-size limit.
pub fn serve<C: NetworkCallout>(services: &mut Services, limit: usize, callout: C) {
    services.add(
        Processor::new(callout)
            .into_service()
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
}
