//! The smallest useful callout: it changes each phase a little, so you can see it work.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::callout::{Callout, Reply};
use crate::tools::Changes;

#[derive(Debug, Default)]
pub struct Basic;

impl Callout for Basic {
    type State = ();

    async fn on_request_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        // The body phase replaces the body, so its old length must go.
        Changes::new()
            .add_header("header-request", "request")
            .remove_header("content-length")
            .clear_route_cache()
            .into_reply()
    }

    async fn on_response_headers(&self, _headers: &HttpHeaders, _state: &mut ()) -> Reply {
        Changes::new()
            .add_header("hello", "service-extensions")
            .remove_header("content-length")
            .into_reply()
    }

    async fn on_request_body(&self, _body: &HttpBody, _state: &mut ()) -> Reply {
        Changes::new().replace_body("replaced-body").into_reply()
    }

    async fn on_response_body(&self, _body: &HttpBody, _state: &mut ()) -> Reply {
        Changes::new().replace_body("new-body").into_reply()
    }
}
