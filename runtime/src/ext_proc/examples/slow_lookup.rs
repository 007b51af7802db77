//! Answer after a lookup that takes longer than Envoy's `message_timeout`: the callout first asks
//! for more time (`override_message_timeout`, up to the filter's `max_message_timeout`), so Envoy
//! waits for the real answer instead of failing the request with 504.

use std::time::Duration;

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;

use crate::ext_proc::{Callout, Context, HeadersReply};

/// How long the stand-in lookup takes: more than the shipped `message_timeout` of 1 s.
pub const LOOKUP: Duration = Duration::from_millis(1500);

/// Ask for more time, then answer after a [`LOOKUP`].
#[derive(Debug, Default)]
pub struct SlowLookup;

impl Callout for SlowLookup {
    type State = ();

    fn extend_timeout(&self, phase: &Phase, _cx: &Context<()>) -> Option<Duration> {
        matches!(phase, Phase::RequestHeaders(_)).then_some(LOOKUP * 2)
    }

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        tokio::time::sleep(LOOKUP).await;
        HeadersReply::new().set_header("x-looked-up", "yes")
    }
}
