//! Envoy's HTTP external processing (the `envoy.filters.http.ext_proc` filter): a [`Callout`]
//! has a handler per phase of an HTTP request, each of which gets the [`Context`] of its
//! request and answers with a typed reply ([`HeadersReply`], [`BodyReply`], [`TrailersReply`]);
//! the [`Processor`] serves it as Envoy's `ExternalProcessor`, in every body mode. [`tools`]
//! builds immediate responses and reads what Envoy sends. The [`examples`] are callouts to run
//! as they are, or to start from, picked by `--example` ([`CalloutArgs`]).
//!
//! ```no_run
//! use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
//! use grpc_scaffold_runtime::ext_proc::tools::{deny, header_str};
//! use grpc_scaffold_runtime::ext_proc::{Callout, Context, HeadersReply};
//!
//! /// Refuse requests without a tenant, and tell the upstream which one it is.
//! struct Tenants;
//!
//! impl Callout for Tenants {
//!     type State = ();
//!
//!     async fn on_request_headers(
//!         &self,
//!         headers: &HttpHeaders,
//!         _cx: &mut Context<()>,
//!     ) -> HeadersReply {
//!         match header_str(headers, "x-tenant") {
//!             Some(tenant) => HeadersReply::new().set_header("x-tenant-seen", tenant),
//!             None => deny("no tenant").into(),
//!         }
//!     }
//! }
//! ```

pub mod examples;
pub mod processor;
mod replies;
pub mod reply;
#[cfg(test)]
mod tests;
pub mod tools;

pub use examples::Example;
pub use processor::{Callout, Context, Processor};
pub use reply::{BodyReply, HeadersReply, Reply, TrailersReply};

use crate::server::{MessageLimits, Services};
use examples::jwt_auth::{JwtArgs, JwtAuth};

/// Envoy's protos of the `ExternalProcessor` service, encoded, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ext_proc");

/// Which callout the server runs: the project's own, unless `--example` picks one, and the
/// settings of the examples that have some.
#[derive(Debug, Clone, clap::Args)]
pub struct CalloutArgs {
    /// An example callout to run instead of yours (`src/callout.rs`)
    #[arg(long, env = "EXAMPLE", value_enum)]
    pub example: Option<Example>,

    /// The key and rules of `--example jwt_auth`.
    #[command(flatten)]
    pub jwt: JwtArgs,
}

impl CalloutArgs {
    /// The services of a server that runs the example that `--example` picks, or else
    /// `callout`, with the message-size `limits`. An example's bad setting fails here, at
    /// startup, not on a request.
    pub fn services<C: Callout>(
        &self,
        limits: MessageLimits,
        callout: C,
    ) -> anyhow::Result<Services> {
        let mut services = Services::default();
        let Some(example) = self.example else {
            serve(&mut services, limits, callout);
            return Ok(services);
        };
        let served = &mut services;
        match example {
            Example::Basic => serve(served, limits, examples::basic::Basic),
            Example::AddHeader => serve(served, limits, examples::add_header::AddHeader),
            Example::UpdateHeader => serve(served, limits, examples::update_header::UpdateHeader),
            Example::NormalizeHeader => {
                serve(served, limits, examples::normalize_header::NormalizeHeader);
            }
            Example::AddBody => serve(served, limits, examples::add_body::AddBody),
            Example::AddCustomResponse => {
                serve(
                    served,
                    limits,
                    examples::add_custom_response::AddCustomResponse,
                );
            }
            Example::Redirect => serve(served, limits, examples::redirect::Redirect),
            Example::SetCookie => serve(served, limits, examples::set_cookie::SetCookie),
            Example::DynamicForwarding => {
                serve(
                    served,
                    limits,
                    examples::dynamic_forwarding::DynamicForwarding,
                );
            }
            Example::JwtAuth => {
                let key = self.jwt.public_key()?;
                serve(served, limits, JwtAuth::new(key, &self.jwt.validation));
            }
            Example::Observability => {
                serve(
                    served,
                    limits,
                    examples::observability::Observability::default(),
                );
            }
            Example::SkipResponseBody => {
                serve(
                    served,
                    limits,
                    examples::skip_response_body::SkipResponseBody,
                );
            }
            Example::SlowLookup => serve(served, limits, examples::slow_lookup::SlowLookup),
        }
        Ok(services)
    }
}

/// Serve `callout` as the processor, with the message-size `limits`, and describe it in
/// reflection.
pub fn serve<C: Callout>(services: &mut Services, limits: MessageLimits, callout: C) {
    services.add(
        Processor::new(callout)
            .into_service()
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    services.describe(FILE_DESCRIPTOR_SET);
}
