//! The library behind the network callout server: configuration, the callout trait and the
//! `NetworkExternalProcessor` service that drives it, and the examples.

pub mod callout;
pub mod config;
pub mod examples;
pub mod replies;
pub mod server;
pub mod services;
pub mod telemetry;
