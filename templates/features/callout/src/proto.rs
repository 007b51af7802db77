//! Envoy's messages and services come from envoy-types; build.rs compiles `proto/`, which
//! describes the same wire, only so that gRPC reflection can describe them.

/// The protos under `proto/`, encoded, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
