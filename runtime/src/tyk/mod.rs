//! A Tyk Gateway gRPC plugin: the `coprocess.Dispatcher` service that the gateway calls, which
//! routes each call to a hook by hook type and name.
//!
//! - [`dispatcher`]: the [`Hooks`] registry, and the [`Plugin`] that serves them, counts and
//!   logs each dispatch, and hands gateway events to their handlers.
//! - [`object`]: [`ObjectExt`], the changes a hook makes to an `Object`, written to the fields
//!   that the gateway applies, and the [`Rejection`] of a custom-auth hook.
//! - [`signature`]: HTTP request signatures, which the example custom-auth hook checks.
//! - [`redact`]: the debug dump of an `Object`, with every value that could hold a secret
//!   redacted.
//! - [`proto`]: the coprocess protocol, generated from the crate's `proto/tyk/`.
//! - [`PluginArgs`]: the plugin's flags, and the [`Settings`] that hooks read.
//!
//! ```no_run
//! use clap::Parser as _;
//! use grpc_scaffold_runtime::server::{Server, ServerArgs, Services};
//! use grpc_scaffold_runtime::tyk::proto::{FILE_DESCRIPTOR_SET, coprocess::Object};
//! use grpc_scaffold_runtime::tyk::{HookError, Hooks, ObjectExt as _, Plugin, PluginArgs, Settings};
//!
//! /// Tell the upstream that the request went through the plugin.
//! async fn tag_request(object: &mut Object, _: &Settings) -> Result<(), HookError> {
//!     object.set_header("X-Plugin", "rust");
//!     Ok(())
//! }
//!
//! #[derive(clap::Parser)]
//! struct Config {
//!     #[command(flatten)]
//!     server: ServerArgs,
//!     #[command(flatten)]
//!     plugin: PluginArgs,
//! }
//!
//! # async fn run() -> anyhow::Result<()> {
//! let config = Config::parse();
//! let mut hooks = Hooks::default();
//! hooks.pre("MyPrePluginMiddleware", tag_request);
//! let plugin = Plugin::new(hooks, config.plugin.settings()?);
//! let mut services = Services::default();
//! services
//!     .describe(FILE_DESCRIPTOR_SET)
//!     .add(plugin.service(config.server.message_limits()));
//! Server::new(&config.server).serve(services).await
//! # }
//! ```

pub mod dispatcher;
pub mod object;
pub mod proto;
pub mod redact;
mod settings;
pub mod signature;

pub use dispatcher::{GatewayEvent, Hook, HookError, Hooks, Plugin};
pub use object::{ObjectExt, Rejection};
pub use settings::{PluginArgs, Settings};
