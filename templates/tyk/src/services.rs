//! The services this server hosts.

use crate::config::Config;
use crate::dispatcher::Plugin;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::coprocess::dispatcher_server::DispatcherServer;
use crate::server::Services;

/// Build the services from `config`.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let limits = config.server.message_limits();
    let mut services = Services::default();
    services.describe(FILE_DESCRIPTOR_SET);
    services.add(
        DispatcherServer::new(Plugin::new(config)?)
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    Ok(services)
}
