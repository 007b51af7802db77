//! The services this server hosts.

pub mod streaming;

use crate::config::Config;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::streaming::streaming_service_server::StreamingServiceServer;
use crate::server::Services;

/// Build the services from `config`; a missing or short secret fails here, at startup.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let limits = config.server.message_limits();
    let mut services = Services::default();
    services.describe(FILE_DESCRIPTOR_SET);
    services.add(
        StreamingServiceServer::new(streaming::Streaming::new(config)?)
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    Ok(services)
}
