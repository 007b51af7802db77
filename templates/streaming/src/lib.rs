//! The library behind the server and client binaries: configuration, token checks, the
//! generated protos, the streaming service, and the server that hosts it.

pub mod auth;
pub mod client;
pub mod config;
pub mod keys;
pub mod proto;
pub mod server;
pub mod services;
pub mod telemetry;
