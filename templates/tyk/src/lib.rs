//! The library behind the plugin server: its configuration, its services, and your hooks. The
//! Dispatcher, the hook router, the `Object` helpers, request signatures, redaction and the
//! coprocess protos are grpc-scaffold-runtime's, under the paths that the hooks know them by.

pub mod config;
pub mod hooks;
pub mod proto;
pub mod services;

pub use grpc_scaffold_runtime::tyk::{dispatcher, object, redact, signature};
pub use grpc_scaffold_runtime::{server, telemetry};
