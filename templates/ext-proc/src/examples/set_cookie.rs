//! Set a cookie on the response, unless the request already carried it. This shows per-request
//! state: the request phase records what the response phase needs.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::callout::{Callout, Reply};
use crate::tools::{Changes, header_str};

/// The cookie's name.
pub const COOKIE: &str = "session-seen";

#[derive(Debug, Default)]
pub struct SetCookie;

/// What this example remembers about one request.
#[derive(Debug, Default)]
pub struct Seen {
    has_cookie: bool,
}

impl Callout for SetCookie {
    type State = Seen;

    async fn on_request_headers(&self, headers: &HttpHeaders, state: &mut Seen) -> Reply {
        state.has_cookie = header_str(headers, "cookie").is_some_and(|cookies| {
            cookies.split(';').any(|cookie| {
                cookie
                    .trim()
                    .split_once('=')
                    .is_some_and(|(name, _)| name == COOKIE)
            })
        });
        Reply::Continue
    }

    async fn on_response_headers(&self, _headers: &HttpHeaders, state: &mut Seen) -> Reply {
        if state.has_cookie {
            return Reply::Continue;
        }
        // Appended, so that the upstream's own cookies stay.
        Changes::new()
            .add_header(
                "set-cookie",
                format!("{COOKIE}=1; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"),
            )
            .into_reply()
    }
}
