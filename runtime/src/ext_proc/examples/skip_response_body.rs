//! Skip the response body of GET and HEAD requests: the request headers' reply overrides the
//! processing mode (`mode_override`, which Envoy honours with `allow_mode_override: true`), so a
//! download streams to the client without passing through the callout.

use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::BodySendMode;
use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::tools::header_str;
use crate::ext_proc::{Callout, Context, HeadersReply};

/// Skip the response body of GET and HEAD requests.
#[derive(Debug, Default)]
pub struct SkipResponseBody;

impl Callout for SkipResponseBody {
    type State = ();

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        cx: &mut Context<()>,
    ) -> HeadersReply {
        if !matches!(header_str(headers, ":method"), Some("GET" | "HEAD")) {
            return HeadersReply::new();
        }
        HeadersReply::new().mode_override(ProcessingMode {
            response_body_mode: BodySendMode::None.into(),
            ..cx.mode()
        })
    }
}
