//! Add a header in each direction, beside any values it already has.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::{Callout, Context, HeadersReply};

/// Add a header each way.
#[derive(Debug, Default)]
pub struct AddHeader;

impl Callout for AddHeader {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new().add_header("add-header-request", "Value-request")
    }

    async fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        HeadersReply::new().add_header("add-header-response", "Value-response")
    }
}
