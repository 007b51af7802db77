//! The services this server hosts.

pub mod extension;

use anyhow::Context as _;
use jsonwebtoken::DecodingKey;

use crate::config::Config;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::protos::data_extension_server::DataExtensionServer;
use crate::server::Services;

/// Build the services from `config`; a bad key fails here, at startup, not on the first call.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let pem = match (&config.public_key, &config.public_key_file) {
        (Some(pem), _) => pem.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path)
            .with_context(|| format!("failed to read PUBLIC_KEY_FILE `{}`", path.display()))?,
        (None, None) => anyhow::bail!("set PUBLIC_KEY or PUBLIC_KEY_FILE"),
    };
    let key = DecodingKey::from_rsa_pem(&pem)
        .context("PUBLIC_KEY is not an RSA public key in PEM format")?;

    let limits = config.server.message_limits();
    let mut services = Services::default();
    services.describe(FILE_DESCRIPTOR_SET);
    services.add(
        DataExtensionServer::new(extension::Extension::new(key, config))
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    Ok(services)
}
