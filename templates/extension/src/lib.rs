//! The library behind the server: configuration, the generated protos, the `ExtensionData`
//! service, and the business logic it calls. The server that hosts it, and the token checks, are
//! grpc-scaffold-runtime's.

pub mod config;
pub mod process;
pub mod proto;
pub mod services;

pub use grpc_scaffold_runtime::jwt::{access, auth};
pub use grpc_scaffold_runtime::{server, telemetry};
