//! The services this server hosts.

pub mod streaming;

use crate::config::Config;
use crate::proto::streaming::streaming_service_server::StreamingServiceServer;
use crate::server::Services;

/// Build the services from `config`; a missing or short secret fails here, at startup.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let limit = config.server.max_message_bytes();
    let mut services = Services::default();
    services.add(
        StreamingServiceServer::new(streaming::Streaming::new(config)?)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(services)
}
