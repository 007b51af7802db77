//! Set a cookie on the response, unless the request already carried it. This shows per-request
//! state: the request phase records what the response phase needs.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::tools::header_str;
use crate::ext_proc::{Callout, Context, HeadersReply};

/// The cookie's name.
pub const COOKIE: &str = "session-seen";

/// Set the [`COOKIE`] on responses to requests without it.
#[derive(Debug, Default)]
pub struct SetCookie;

/// What this example remembers about one request.
#[derive(Debug, Default)]
pub struct Seen {
    has_cookie: bool,
}

impl Callout for SetCookie {
    type State = Seen;

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        cx: &mut Context<Seen>,
    ) -> HeadersReply {
        cx.state.has_cookie = header_str(headers, "cookie").is_some_and(|cookies| {
            cookies.split(';').any(|cookie| {
                cookie
                    .trim()
                    .split_once('=')
                    .is_some_and(|(name, _)| name == COOKIE)
            })
        });
        HeadersReply::new()
    }

    async fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        cx: &mut Context<Seen>,
    ) -> HeadersReply {
        if cx.state.has_cookie {
            return HeadersReply::new();
        }
        // Appended, so that the upstream's own cookies stay.
        HeadersReply::new().add_header(
            "set-cookie",
            format!("{COOKIE}=1; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"),
        )
    }
}
