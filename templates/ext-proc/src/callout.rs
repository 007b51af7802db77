//! Your callout. It starts as the seed's `basic` behaviour: change it, and `src/services.rs`
//! serves it whenever `EXAMPLE` is unset. Each phase you leave out answers CONTINUE.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};
use grpc_scaffold_runtime::ext_proc::{BodyReply, Callout, Context, HeadersReply};

#[derive(Debug, Default)]
pub struct MyCallout;

impl Callout for MyCallout {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        // The body phase replaces the body, so its old length must go.
        HeadersReply::new()
            .add_header("header-request", "request")
            .set_header(":authority", "service-extensions.com")
            .set_header(":path", "/")
            .remove_header("foo")
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
