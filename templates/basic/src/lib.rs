//! The library behind the server and client binaries: configuration, the generated protos, and
//! the service implementations. The server that hosts them is grpc-scaffold-runtime's.

pub mod client;
pub mod config;
pub mod proto;
pub mod services;

pub use grpc_scaffold_runtime::{server, telemetry};
