//! Redirect every request, permanently.

use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;

use crate::ext_proc::tools::redirect;
use crate::ext_proc::{Callout, Context, HeadersReply};

/// Where requests are sent.
pub const LOCATION: &str = "http://service-extensions.com/redirect";

/// Redirect every request to [`LOCATION`].
#[derive(Debug, Default)]
pub struct Redirect;

impl Callout for Redirect {
    type State = ();

    async fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        redirect(LOCATION, true).into()
    }
}
