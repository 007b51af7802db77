//! Helpers that build immediate responses and metadata values, and read what Envoy sends, so
//! that handlers never assemble the Envoy protos by hand.

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    GrpcStatus, HeaderMutation, HttpBody, HttpHeaders, ImmediateResponse,
};
use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::google::protobuf::Value;
use envoy_types::pb::google::protobuf::value::Kind;

use super::reply::header_option;

/// The dynamic-metadata namespace that Envoy's dynamic forwarding reads the endpoint from.
pub const DYNAMIC_FORWARDING_NAMESPACE: &str =
    "com.google.envoy.dynamic_forwarding.selected_endpoints";

/// A response that Envoy sends to the client at once, instead of going on with the request;
/// any phase's reply can be made from one (`.into()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Immediate {
    response: ImmediateResponse,
}

impl Immediate {
    /// A response with the HTTP `status`, and no headers or body yet.
    pub fn status(status: u16) -> Self {
        Self {
            response: ImmediateResponse {
                status: Some(HttpStatus {
                    code: i32::from(status),
                }),
                ..ImmediateResponse::default()
            },
        }
    }

    /// Add a header to the response.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        let headers = self
            .response
            .headers
            .get_or_insert_with(HeaderMutation::default);
        headers.set_headers.push(header_option(
            name,
            value,
            HeaderAppendAction::AppendIfExistsOrAdd,
        ));
        self
    }

    /// Set the response's body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.response.body = body.into();
        self
    }

    /// Why the request was stopped, for Envoy's access log (`%RESPONSE_CODE_DETAILS%`).
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.response.details = details.into();
        self
    }

    /// The gRPC status for gRPC clients: Envoy sends it as `grpc-status`.
    pub fn grpc_status(mut self, code: tonic::Code) -> Self {
        self.response.grpc_status = Some(GrpcStatus {
            status: code as u32,
        });
        self
    }

    /// The `ImmediateResponse` message, as Envoy takes it.
    pub fn into_response(self) -> ImmediateResponse {
        self.response
    }
}

/// Refuse the request: 403 with `message` as a plain-text body. Change the status with
/// [`Immediate::status`] if you need another.
pub fn deny(message: &str) -> Immediate {
    Immediate::status(403)
        .header("content-type", "text/plain")
        .body(format!("{message}\n"))
        .details(message)
}

/// Refuse a gRPC request with `code` and `message`, which gRPC clients see as the call's status.
/// Envoy turns it into a gRPC response (HTTP 200, `grpc-status`, `grpc-message`) for gRPC clients.
pub fn deny_grpc(code: tonic::Code, message: &str) -> Immediate {
    Immediate::status(403)
        .grpc_status(code)
        .body(message)
        .details(message)
}

/// Redirect the client to `location`: 301 if `permanent`, else 302.
pub fn redirect(location: &str, permanent: bool) -> Immediate {
    Immediate::status(if permanent { 301 } else { 302 })
        .header("location", location)
        .details("redirected by the callout")
}

/// The value of header `name`, as Envoy sends it: in `raw_value`, or in `value` for older
/// Envoys. Names compare without regard to case.
pub fn header<'a>(headers: &'a HttpHeaders, name: &str) -> Option<&'a [u8]> {
    let map = headers.headers.as_ref()?;
    map.headers
        .iter()
        .find(|header| header.key.eq_ignore_ascii_case(name))
        .map(|header| {
            if header.raw_value.is_empty() {
                header.value.as_bytes()
            } else {
                header.raw_value.as_slice()
            }
        })
}

/// The value of header `name` as text, if it is there and valid UTF-8.
pub fn header_str<'a>(headers: &'a HttpHeaders, name: &str) -> Option<&'a str> {
    header(headers, name).and_then(|value| std::str::from_utf8(value).ok())
}

/// Whether header `name` is there with exactly `value`.
pub fn headers_contain(headers: &HttpHeaders, name: &str, value: &str) -> bool {
    header(headers, name) == Some(value.as_bytes())
}

/// Whether the body holds `needle` anywhere; bodies are bytes, not necessarily text.
pub fn body_contains(body: &HttpBody, needle: &[u8]) -> bool {
    needle.is_empty()
        || body
            .body
            .windows(needle.len())
            .any(|window| window == needle)
}

/// A text value, for dynamic metadata.
pub fn string(text: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(text.into())),
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str, &str)]) -> HttpHeaders {
        let headers = pairs
            .iter()
            .map(|(key, value, raw_value)| HeaderValue {
                key: (*key).to_owned(),
                value: (*value).to_owned(),
                raw_value: raw_value.as_bytes().to_vec(),
            })
            .collect();
        HttpHeaders {
            headers: Some(HeaderMap { headers }),
            ..HttpHeaders::default()
        }
    }

    #[test]
    fn headers_are_read_from_raw_value_then_value() {
        let headers = headers(&[("x-raw", "", "from raw"), ("X-Old", "from value", "")]);
        assert!(headers_contain(&headers, "x-raw", "from raw"));
        assert!(headers_contain(&headers, "x-old", "from value"));
        assert!(!headers_contain(&headers, "x-raw", "from"));
        assert_eq!(header(&headers, "missing"), None);
    }

    #[test]
    fn bodies_are_searched_as_bytes() {
        let body = HttpBody {
            body: vec![0xff, b'd', b'e', b'n', b'y', 0x00],
            ..HttpBody::default()
        };
        assert!(body_contains(&body, b"deny"));
        assert!(body_contains(&body, b""));
        assert!(!body_contains(&body, b"denied"));
    }

    #[test]
    fn deny_grpc_carries_the_grpc_status() {
        let response = deny_grpc(tonic::Code::PermissionDenied, "no").into_response();
        assert_eq!(response.grpc_status, Some(GrpcStatus { status: 7 }));
        assert_eq!(response.status, Some(HttpStatus { code: 403 }));
        assert_eq!(response.body, b"no");
    }
}
