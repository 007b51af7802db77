//! The library behind the server: configuration, keys and token checks, the generated protos, the
//! `ExtensionData` service, and the business logic it calls.

pub mod access;
pub mod auth;
pub mod config;
pub mod keys;
pub mod process;
pub mod proto;
pub mod public_keys;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod token_cache;
