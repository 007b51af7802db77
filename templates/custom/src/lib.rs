//! The library behind the server: configuration, the code generated from `proto/`, one module
//! per service with its handlers, and the server that hosts them.

pub mod config;
pub mod proto;
pub mod server;
pub mod services;
pub mod telemetry;
