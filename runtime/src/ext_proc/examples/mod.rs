//! Example callouts, one per module, each a starting point to copy. `--example` (or `EXAMPLE`)
//! picks one to run instead of your own callout in `src/callout.rs`.

pub mod add_body;
pub mod add_custom_response;
pub mod add_header;
pub mod basic;
pub mod dynamic_forwarding;
pub mod jwt_auth;
pub mod normalize_header;
pub mod observability;
pub mod redirect;
pub mod set_cookie;
pub mod skip_response_body;
pub mod slow_lookup;
pub mod update_header;

/// The example callouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Example {
    /// The seed's basic callout, which `src/callout.rs` starts as: headers changed both ways,
    /// the request body replaced and the response body cleared
    Basic,
    /// Add a header to the request and one to the response
    AddHeader,
    /// Overwrite a request header and a response header
    UpdateHeader,
    /// Tell the upstream the client's device type, from the host it asked for
    NormalizeHeader,
    /// Replace the request and response bodies
    AddBody,
    /// Answer `mock: true` requests with a canned response, and deny `deny: true` ones
    AddCustomResponse,
    /// Redirect every request with 301
    Redirect,
    /// Set a cookie on responses to clients that do not have it yet
    SetCookie,
    /// Send the request to the endpoint named in its `x-select-endpoint` header
    DynamicForwarding,
    /// Require an RS256 JWT, and pass its claims upstream as `decoded-<claim>` headers
    JwtAuth,
    /// Count the phases Envoy reports in observability mode, answering none
    Observability,
    /// Skip the response body of GET and HEAD requests, through `mode_override`
    SkipResponseBody,
    /// Ask Envoy for more time, then answer after a slow lookup
    SlowLookup,
}
