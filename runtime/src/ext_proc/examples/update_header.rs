//! Overwrite a header in each direction (OVERWRITE_IF_EXISTS_OR_ADD).

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::{Callout, Context, HeadersReply};

/// Overwrite a header each way.
#[derive(Debug, Default)]
pub struct UpdateHeader;

impl Callout for UpdateHeader {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new()
            .set_header("header-request", "request-new-value")
            .clear_route_cache()
    }

    async fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new().set_header("header-response", "response-new-value")
    }
}
