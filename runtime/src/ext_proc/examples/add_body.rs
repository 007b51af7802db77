//! Replace the body in each direction.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::ext_proc::{BodyReply, Callout, Context, HeadersReply};

/// Replace both bodies.
#[derive(Debug, Default)]
pub struct AddBody;

impl Callout for AddBody {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new().remove_header("content-length")
    }

    async fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new().remove_header("content-length")
    }

    async fn on_request_body(&self, _body: &HttpBody, _cx: &mut Context<()>) -> BodyReply {
        BodyReply::new().replace_body("new-body-request")
    }

    async fn on_response_body(&self, _body: &HttpBody, _cx: &mut Context<()>) -> BodyReply {
        BodyReply::new().replace_body("new-body-response")
    }
}
