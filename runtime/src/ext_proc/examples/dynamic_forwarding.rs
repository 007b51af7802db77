//! Choose the upstream endpoint per request: the `x-select-endpoint: ip:port` header becomes the
//! dynamic metadata that Envoy's dynamic forwarding reads. A bad address gets 400.

use std::net::SocketAddr;

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::tools::{DYNAMIC_FORWARDING_NAMESPACE, Immediate, header_str, string};
use crate::ext_proc::{Callout, Context, HeadersReply};

/// The request header that names the endpoint.
pub const HEADER: &str = "x-select-endpoint";

/// Forward each request to the endpoint that its [`HEADER`] names.
#[derive(Debug, Default)]
pub struct DynamicForwarding;

impl Callout for DynamicForwarding {
    type State = ();

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        let Some(value) = header_str(headers, HEADER) else {
            return HeadersReply::new();
        };
        match value.trim().parse::<SocketAddr>() {
            Ok(endpoint) => HeadersReply::new().metadata(
                DYNAMIC_FORWARDING_NAMESPACE,
                "primary",
                string(endpoint.to_string()),
            ),
            Err(_) => Immediate::status(400)
                .header("content-type", "text/plain")
                .body(format!("{HEADER} must be ip:port, not `{value}`\n"))
                .details("bad endpoint header")
                .into(),
        }
    }
}
