//! Tyk Gateway's coprocess protocol, generated from `proto/tyk/` by the crate's build script:
//! the [`Object`](coprocess::Object) that each hook call carries, the events, and the
//! `Dispatcher` service that a plugin serves.

/// The messages of package `coprocess`, with `dispatcher_server`, what a plugin serves, and
/// `dispatcher_client`, what the gateway calls it with (and what tests call it with).
#[allow(missing_docs)] // Generated: a field has the docs that its proto comment gives it.
pub mod coprocess {
    include!(concat!(env!("OUT_DIR"), "/coprocess.rs"));
}

/// Every proto of the protocol, encoded: for gRPC reflection, and for the redacted debug dump
/// of an `Object`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("coprocess");
