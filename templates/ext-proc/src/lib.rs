//! The library behind the callout server: your callout (`callout`), the trait and the
//! `ExternalProcessor` service that drives it (`processor`), the replies and the helpers that
//! build them, the configuration, and the examples.

pub mod auth;
pub mod callout;
pub mod config;
pub mod examples;
pub mod keys;
pub mod processor;
pub mod proto;
pub mod replies;
pub mod reply;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod tools;
