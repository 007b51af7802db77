//! The library behind the network callout server: your callout (`callout`), the settings, and
//! the services that run it. The processor that drives it, its `Outcome`s and the examples are
//! grpc-scaffold-runtime's (`ext_proc_l4`), re-exported here under their old names.

pub mod callout;
pub mod config;
pub mod services;

pub use grpc_scaffold_runtime::ext_proc_l4::{examples, processor};
pub use grpc_scaffold_runtime::{server, telemetry};
