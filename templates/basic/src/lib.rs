//! The library behind the server and client binaries: configuration, the generated protos, the
//! service implementations, and the server that hosts them.

pub mod client;
pub mod config;
pub mod proto;
pub mod server;
pub mod services;
pub mod telemetry;
