//! Choose the upstream endpoint per request: the `x-select-endpoint: ip:port` header becomes the
//! dynamic metadata that Envoy's dynamic forwarding reads. A bad address gets 400.

use std::net::SocketAddr;

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpHeaders, ProcessingResponse};

use crate::callout::{Callout, Reply};
use crate::tools::{Immediate, dynamic_forwarding_metadata, header_str};

/// The request header that names the endpoint.
pub const HEADER: &str = "x-select-endpoint";

#[derive(Debug, Default)]
pub struct DynamicForwarding;

impl Callout for DynamicForwarding {
    type State = ();

    async fn on_request_headers(&self, headers: &HttpHeaders, _state: &mut ()) -> Reply {
        let Some(value) = header_str(headers, HEADER) else {
            return Reply::Continue;
        };
        match value.trim().parse::<SocketAddr>() {
            Ok(endpoint) => ProcessingResponse {
                dynamic_metadata: Some(dynamic_forwarding_metadata(endpoint)),
                ..ProcessingResponse::default()
            }
            .into(),
            Err(_) => Immediate::status(400)
                .header("content-type", "text/plain")
                .body(format!("{HEADER} must be ip:port, not `{value}`\n"))
                .details("bad endpoint header")
                .into_reply(),
        }
    }
}
