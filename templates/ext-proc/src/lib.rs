//! The library behind the callout server: your callout (`callout`), the settings, and the
//! services that run it. The processor that drives it, the replies, the helpers that build them
//! and the examples are grpc-scaffold-runtime's (`ext_proc`), re-exported here under their old
//! names.

pub mod callout;
pub mod config;
pub mod services;

pub use grpc_scaffold_runtime::ext_proc::{examples, processor, reply, tools};
pub use grpc_scaffold_runtime::jwt::{auth, keys};
pub use grpc_scaffold_runtime::{server, telemetry};
