//! The library behind the server: configuration, token checks, the generated protos, the
//! `ExtensionData` service, and the business logic it calls.

pub mod access;
pub mod auth;
pub mod config;
pub mod process;
pub mod proto;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod token_cache;
