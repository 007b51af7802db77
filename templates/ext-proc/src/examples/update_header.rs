//! Overwrite a header in each direction (OVERWRITE_IF_EXISTS_OR_ADD).

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::callout::{Callout, Reply};
use crate::tools::Changes;

#[derive(Debug, Default)]
pub struct UpdateHeader;

impl Callout for UpdateHeader {
    type State = ();

    async fn on_request_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new()
            .set_header("header-request", "request-new-value")
            .clear_route_cache()
            .into_reply()
    }

    async fn on_response_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new()
            .set_header("header-response", "response-new-value")
            .into_reply()
    }
}
