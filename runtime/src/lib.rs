//! The runtime of the projects that [grpc-scaffold] writes: the server core that every kind
//! shares, and each kind's framework behind a cargo feature. A project holds its wiring and its
//! own code; everything else lives here, and reaches it with a version bump.
//!
//! - [`server`]: settings (flags and environment), listeners, TLS and mutual TLS, limits,
//!   deadlines, health and reflection, the admin port with metrics and probes, and the drain.
//! - [`telemetry`]: logs, traces over OTLP, metrics, and what a build calls itself.
//!
//! [grpc-scaffold]: https://crates.io/crates/grpc-scaffold

#[cfg(feature = "callout")]
pub mod callout;
#[cfg(feature = "ext-proc")]
pub mod ext_proc;
#[cfg(feature = "ext-proc-l4")]
pub mod ext_proc_l4;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod server;
pub mod telemetry;
#[cfg(feature = "tyk")]
pub mod tyk;

#[doc(hidden)]
pub mod __private {
    pub use git_version;
}
