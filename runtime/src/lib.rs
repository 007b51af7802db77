//! The runtime of the projects that [grpc-scaffold] writes: the server core that every kind
//! shares, and each kind's framework behind a cargo feature. A project holds its wiring and its
//! own code; everything else lives here, and reaches it with a version bump.
//!
//! - `server` and `telemetry` (feature `server`, on by default): settings (flags and
//!   environment), listeners, TLS and mutual TLS, limits, deadlines, health and reflection, the
//!   admin port with metrics and probes, and the drain; logs, traces over OTLP, metrics, and
//!   what a build calls itself.
//! - `jwt` (feature `jwt`): token checks, keys and their rotation, the token cache, and a data
//!   extension's access rules and requests.
//! - `tyk` (feature `tyk`): a Tyk Gateway gRPC plugin: the `Dispatcher` service, the hook
//!   router, the `Object` helpers, request signatures and redaction.
//! - `ext_proc` (feature `ext-proc`): an Envoy HTTP external processor: the `Callout` trait
//!   and its `Context`, the typed replies, the processor in every body mode, and the examples.
//! - `ext_proc_l4` (feature `ext-proc-l4`): an Envoy network external processor: the
//!   `NetworkCallout` trait, its `Outcome`s, the processor, and the examples.
//! - `callout` (with either): the Envoy callouts' listeners and HTTP health checks.
//! - `client` (feature `client`): how a client binary reaches the server: the endpoint,
//!   keepalive, TLS and mutual TLS, and the causes of a failed call.
//! - `testing` (feature `testing`): checks for a project's tests: its services served on a
//!   free port, health and reflection listing each one, and every RPC routed.
//! - `codegen` (feature `codegen`, for a project's build dependency): its protos compiled into
//!   prost messages and tonic services, with no `protoc`.
//!
//! [grpc-scaffold]: https://crates.io/crates/grpc-scaffold

#[cfg(feature = "callout")]
pub mod callout;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "codegen")]
pub mod codegen;
#[cfg(feature = "ext-proc")]
pub mod ext_proc;
#[cfg(feature = "ext-proc-l4")]
pub mod ext_proc_l4;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tyk")]
pub mod tyk;

#[cfg(feature = "server")]
#[doc(hidden)]
pub mod __private {
    pub use git_version;
}
