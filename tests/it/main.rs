//! grpc-scaffold's integration tests, in one binary: the CLI's behaviour, one whole-tree
//! snapshot per kind, and the generated projects built, linted and run for real, the JWT kinds
//! against a Python client's token matrix, the plugins behind a real Envoy and a real Tyk Gateway.

mod cli;
mod envoy;
mod errors;
mod fuzz;
mod generated;
mod hostile_trees;
mod http;
mod jwt;
mod server_core;
mod snapshots;
mod support;
mod tyk_gateway;
mod update;
