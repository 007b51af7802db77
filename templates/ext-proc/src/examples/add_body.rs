//! Replace the body in each direction.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::callout::{Callout, Reply};
use crate::tools::Changes;

#[derive(Debug, Default)]
pub struct AddBody;

impl Callout for AddBody {
    type State = ();

    async fn on_request_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new().remove_header("content-length").into_reply()
    }

    async fn on_response_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new().remove_header("content-length").into_reply()
    }

    async fn on_request_body(&self, _body: &HttpBody, _state: &mut ()) -> Reply {
        Changes::new().replace_body("new-body-request").into_reply()
    }

    async fn on_response_body(&self, _body: &HttpBody, _state: &mut ()) -> Reply {
        Changes::new()
            .replace_body("new-body-response")
            .into_reply()
    }
}
