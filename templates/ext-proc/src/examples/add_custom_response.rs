//! Answer some requests from the callout: `mock: true` gets a canned 200, and `deny: true`, or a
//! body that mentions `deny`, gets 403. Everything else goes on to the upstream.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::callout::{Callout, Reply};
use crate::tools::{Immediate, body_contains, deny, headers_contain};

#[derive(Debug, Default)]
pub struct AddCustomResponse;

impl Callout for AddCustomResponse {
    type State = ();

    async fn on_request_headers(&self, headers: &HttpHeaders, _state: &mut ()) -> Reply {
        if headers_contain(headers, "mock", "true") {
            return Immediate::status(200)
                .header("content-type", "text/plain")
                .body("Mocked response\n")
                .details("mocked by the callout")
                .into_reply();
        }
        if headers_contain(headers, "deny", "true") {
            return deny("denied by the callout").into_reply();
        }
        Reply::Continue
    }

    async fn on_request_body(&self, body: &HttpBody, _state: &mut ()) -> Reply {
        if body_contains(body, b"deny") {
            return deny("denied by the callout: the body asks for it").into_reply();
        }
        Reply::Continue
    }
}
