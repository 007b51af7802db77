//! The services this server hosts: the plugin, with the hooks of `hooks.rs`.

use grpc_scaffold_runtime::server::Services;
use grpc_scaffold_runtime::tyk::{Hooks, Plugin};

use crate::config::Config;
use crate::{hooks, proto};

/// Build the services from `config`; fails when the settings are wrong.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let mut hooks = Hooks::default();
    hooks::register(&mut hooks);
    let plugin = Plugin::new(hooks, config.settings()?).log_secrets(config.plugin.log_secrets);
    let mut services = Services::default();
    services
        .describe(proto::FILE_DESCRIPTOR_SET)
        .add(plugin.service(config.server.message_limits()));
    Ok(services)
}
