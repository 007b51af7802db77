//! The library behind the plugin server: configuration, the coprocess protos, the dispatcher
//! that routes the gateway's calls, the helpers that change an `Object`, and your hooks.

pub mod config;
pub mod dispatcher;
pub mod hooks;
pub mod object;
pub mod proto;
pub mod redact;
pub mod server;
pub mod services;
pub mod signature;
pub mod telemetry;
