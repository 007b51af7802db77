//! The library behind the network callout server: your callout (`callout`), the trait and the
//! `NetworkExternalProcessor` service that drives it (`processor`), the configuration, and the
//! examples.

pub mod callout;
pub mod config;
pub mod examples;
pub mod processor;
pub mod proto;
pub mod server;
pub mod services;
pub mod telemetry;
