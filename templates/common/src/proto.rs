//! The messages, clients and servers that build.rs generates from `proto/`, one module per
//! proto package (`a.b.v1` is `proto::a::b::v1`).

include!(concat!(env!("OUT_DIR"), "/proto.rs"));

/// Every proto of this crate, encoded, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
