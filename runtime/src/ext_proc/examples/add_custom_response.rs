//! Answer some requests from the callout: `mock: true` gets a canned 200, and `deny: true`, or a
//! body that mentions `deny`, gets 403. Everything else goes on to the upstream.
//! In the streamed body modes the search spans chunks, so a `deny` split between two is found.

use envoy_types::pb::envoy::service::ext_proc::v3::{HttpBody, HttpHeaders};

use crate::ext_proc::tools::{Immediate, deny, headers_contain};
use crate::ext_proc::{BodyReply, Callout, Context, HeadersReply};

const NEEDLE: &[u8] = b"deny";

/// Mock, deny, or pass each request.
#[derive(Debug, Default)]
pub struct AddCustomResponse;

/// The end of the last chunk seen, to search across chunk boundaries.
#[derive(Debug, Default)]
pub struct Tail(Vec<u8>);

impl Callout for AddCustomResponse {
    type State = Tail;

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        _cx: &mut Context<Tail>,
    ) -> HeadersReply {
        if headers_contain(headers, "mock", "true") {
            return Immediate::status(200)
                .header("content-type", "text/plain")
                .body("Mocked response\n")
                .details("mocked by the callout")
                .into();
        }
        if headers_contain(headers, "deny", "true") {
            return deny("denied by the callout").into();
        }
        HeadersReply::new()
    }

    async fn on_request_body(&self, body: &HttpBody, cx: &mut Context<Tail>) -> BodyReply {
        let Tail(tail) = &mut cx.state;
        tail.extend_from_slice(&body.body);
        if tail.windows(NEEDLE.len()).any(|window| window == NEEDLE) {
            return deny("denied by the callout: the body asks for it").into();
        }
        let keep = tail.len().saturating_sub(NEEDLE.len() - 1);
        tail.drain(..keep);
        BodyReply::new()
    }
}
