//! The services this server hosts.

pub mod extension;

use crate::config::Config;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::protos::data_extension_server::DataExtensionServer;
use crate::server::Services;

/// Build the services from `config`; a bad key fails here, at startup, not on the first call.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let keys = config.keys.load()?;
    let limits = config.server.message_limits();
    let mut services = Services::default();
    services.describe(FILE_DESCRIPTOR_SET);
    services.add(
        DataExtensionServer::new(extension::Extension::new(keys, config))
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    Ok(services)
}
