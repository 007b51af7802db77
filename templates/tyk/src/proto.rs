//! The gateway's coprocess protocol: its messages, and the `Dispatcher` service's server and
//! client, generated in grpc-scaffold-runtime from the protos of the gateway release it speaks.

pub use grpc_scaffold_runtime::tyk::proto::{FILE_DESCRIPTOR_SET, coprocess};
