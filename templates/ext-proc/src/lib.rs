//! The library behind the callout server: configuration, the callout trait and the
//! `ExternalProcessor` service that drives it, the helpers that build replies, and the examples.

pub mod auth;
pub mod callout;
pub mod config;
pub mod examples;
pub mod keys;
pub mod replies;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod tools;
