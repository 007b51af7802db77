//! The services this server hosts.

use crate::config::Config;
use crate::dispatcher::Plugin;
use crate::proto::coprocess::dispatcher_server::DispatcherServer;
use crate::server::Services;

/// Build the services from `config`.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let limit = config.server.max_message_bytes();
    let mut services = Services::default();
    services.add(
        DispatcherServer::new(Plugin::new(config))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    Ok(services)
}
