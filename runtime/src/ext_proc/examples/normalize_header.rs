//! Tell the upstream what kind of device the client is, from the host it asked for
//! (`m.example.com` is a phone, `tablet.example.com` a tablet), in `client-device-type`.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::tools::header_str;
use crate::ext_proc::{Callout, Context, HeadersReply};

/// Tell the upstream the client's [`device_type`].
#[derive(Debug, Default)]
pub struct NormalizeHeader;

/// The device type that `host` is for.
pub fn device_type(host: &str) -> &'static str {
    let host = host.to_ascii_lowercase();
    if host.starts_with("m.") || host.starts_with("mobile.") {
        "mobile"
    } else if host.starts_with("tablet.") {
        "tablet"
    } else {
        "desktop"
    }
}

impl Callout for NormalizeHeader {
    type State = ();

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        let Some(host) = header_str(headers, ":authority") else {
            return HeadersReply::new();
        };
        // A client must not choose its own device type.
        HeadersReply::new()
            .set_header("client-device-type", device_type(host))
            .clear_route_cache()
    }
}
