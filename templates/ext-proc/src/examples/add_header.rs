//! Add a header in each direction, beside any values it already has.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::callout::{Callout, Reply};
use crate::tools::Changes;

#[derive(Debug, Default)]
pub struct AddHeader;

impl Callout for AddHeader {
    type State = ();

    async fn on_request_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new()
            .add_header("add-header-request", "Value-request")
            .into_reply()
    }

    async fn on_response_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new()
            .add_header("add-header-response", "Value-response")
            .into_reply()
    }
}
