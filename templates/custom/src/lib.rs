//! The library behind the server: configuration, the code generated from `proto/`, and one
//! module per service with its handlers. The server that hosts them is grpc-scaffold-runtime's.

pub mod config;
pub mod proto;
pub mod services;

pub use grpc_scaffold_runtime::{server, telemetry};
