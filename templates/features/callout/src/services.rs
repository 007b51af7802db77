//! The services this server hosts: the processor, running your callout, or the example that
//! `--example` picks.

use grpc_scaffold_runtime::server::Services;

use crate::callout::MyCallout;
use crate::config::Config;

/// Build the services from `config`; a bad setting fails here, at startup, not on a request.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let limits = config.server.message_limits();
    config.callout.services(limits, MyCallout)
}
