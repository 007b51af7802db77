//! The seed's basic callout, kept as the reference that `src/callout.rs` starts from: a header
//! added, one removed, the authority and path set and the route picked again; a header added
//! to the response; the request body replaced and the response body cleared.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::ext_proc::{BodyReply, Callout, Context, HeadersReply};

/// The authority that `basic` sets, which the shipped `envoy/envoy.yaml` routes to the upstream.
pub const AUTHORITY: &str = "service-extensions.com";

/// The seed's basic changes, both ways.
#[derive(Debug, Default)]
pub struct Basic;

impl Callout for Basic {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new()
            .add_header("header-request", "request")
            .set_header(":authority", AUTHORITY)
            .set_header(":path", "/")
            .remove_header("foo")
            // The body is replaced, so its old length must go.
            .remove_header("content-length")
            .clear_route_cache()
    }

    async fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new()
            .add_header("hello", "service-extensions")
            .remove_header("content-length")
    }

    async fn on_request_body(&self, _body: &HttpBody, _cx: &mut Context<()>) -> BodyReply {
        BodyReply::new().replace_body("replaced-body")
    }

    async fn on_response_body(&self, _body: &HttpBody, _cx: &mut Context<()>) -> BodyReply {
        BodyReply::new().clear_body()
    }
}
