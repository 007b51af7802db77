//! What a handler answers for one phase. A headers handler returns a [`HeadersReply`], a body
//! handler a [`BodyReply`] and a trailers handler a [`TrailersReply`]; each offers only what Envoy
//! honours in its phase, so a reply of the wrong type cannot be built.

use std::marker::PhantomData;

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::service::ext_proc::v3::body_mutation::Mutation;
use envoy_types::pb::envoy::service::ext_proc::v3::common_response::ResponseStatus;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, CommonResponse, HeaderMutation, ImmediateResponse,
};
use envoy_types::pb::google::protobuf::{Struct, Value};

use super::tools::Immediate;
use crate::callout::insert_metadata;

/// The reply to a request or response headers phase.
pub type HeadersReply = Reply<Headers>;
/// The reply to a request or response body phase: one per message Envoy sends, whatever the mode.
pub type BodyReply = Reply<Body>;
/// The reply to a request or response trailers phase.
pub type TrailersReply = Reply<Trailers>;

/// The headers phases.
#[derive(Debug)]
pub enum Headers {}
/// The body phases.
#[derive(Debug)]
pub enum Body {}
/// The trailers phases.
#[derive(Debug)]
pub enum Trailers {}

/// What a reply does with the phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Go on, with these changes (none by default).
    Continue(CommonResponse),
    /// Answer the client at once; the request goes no further.
    Immediate(ImmediateResponse),
}

/// How much of the body a body mutation covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Scope {
    /// This message's bytes only.
    #[default]
    Chunk,
    /// The whole body: the bytes still to come are dropped, without calling the handler.
    Whole,
    /// Nothing yet: keep this chunk back (FULL_DUPLEX_STREAMED only), and send it with a later one.
    Hold,
}

/// The answer to one phase `P`: CONTINUE unless you say otherwise, with the changes, dynamic
/// metadata and mode override you add. A reply made from an [`Immediate`] stops the request, so
/// header and body changes made to it afterwards have nothing to change, and are dropped.
///
/// ```
/// use grpc_scaffold_runtime::ext_proc::HeadersReply;
///
/// let reply = HeadersReply::new()
///     .add_header("x-request-id-seen", "yes")
///     .remove_header("x-internal")
///     .clear_route_cache();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<P> {
    pub(crate) action: Action,
    pub(crate) scope: Scope,
    pub(crate) dynamic_metadata: Option<Struct>,
    pub(crate) mode_override: Option<ProcessingMode>,
    phase: PhantomData<fn() -> P>,
}

impl<P> Default for Reply<P> {
    fn default() -> Self {
        Self {
            action: Action::Continue(CommonResponse::default()),
            scope: Scope::default(),
            dynamic_metadata: None,
            mode_override: None,
            phase: PhantomData,
        }
    }
}

impl<P> From<Immediate> for Reply<P> {
    fn from(immediate: Immediate) -> Self {
        Self {
            action: Action::Immediate(immediate.into_response()),
            ..Self::default()
        }
    }
}

impl<P> Reply<P> {
    /// CONTINUE, unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a value to `name`, beside any values it has (Envoy's default append action).
    pub fn add_header(self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.header(name, value, HeaderAppendAction::AppendIfExistsOrAdd)
    }

    /// Set `name` to `value`, replacing any values it has.
    pub fn set_header(self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.header(name, value, HeaderAppendAction::OverwriteIfExistsOrAdd)
    }

    /// Set `name` to `value` as `action` says: append, add only if absent, overwrite, ...
    pub fn header(
        mut self,
        name: &str,
        value: impl Into<Vec<u8>>,
        action: HeaderAppendAction,
    ) -> Self {
        if let Some(mutation) = self.mutation() {
            mutation
                .set_headers
                .push(header_option(name, value, action));
        }
        self
    }

    /// Remove every value of `name`.
    pub fn remove_header(mut self, name: &str) -> Self {
        if let Some(mutation) = self.mutation() {
            mutation.remove_headers.push(name.to_ascii_lowercase());
        }
        self
    }

    /// Dynamic metadata for Envoy's other filters and its access log: `value` under `key` in
    /// `namespace`. Envoy keeps only the namespaces listed in its filter's
    /// `metadata_options.receiving_namespaces`.
    pub fn metadata(mut self, namespace: &str, key: &str, value: Value) -> Self {
        insert_metadata(&mut self.dynamic_metadata, namespace, key, value);
        self
    }

    fn common(&mut self) -> Option<&mut CommonResponse> {
        match &mut self.action {
            Action::Continue(common) => Some(common),
            Action::Immediate(_) => None,
        }
    }

    fn mutation(&mut self) -> Option<&mut HeaderMutation> {
        self.common().map(|common| {
            common
                .header_mutation
                .get_or_insert_with(HeaderMutation::default)
        })
    }

    fn replace(mut self, body: Vec<u8>) -> Self {
        if let Some(common) = self.common() {
            common.body_mutation = Some(body_mutation(body));
        }
        self
    }
}

impl Reply<Headers> {
    /// Have Envoy pick the route again, after header changes that the route matches on.
    pub fn clear_route_cache(mut self) -> Self {
        if let Some(common) = self.common() {
            common.clear_route_cache = true;
        }
        self
    }

    /// Process the rest of the stream in `mode` (Envoy's `allow_mode_override` must be on), for
    /// example to skip the response body: `..cx.mode()` keeps the rest.
    pub fn mode_override(mut self, mode: ProcessingMode) -> Self {
        self.mode_override = Some(mode);
        self
    }

    /// CONTINUE_AND_REPLACE: go on with `body` as the whole body, and these header changes; Envoy
    /// sends no body phase for this side.
    pub fn continue_and_replace(mut self, body: impl Into<Vec<u8>>) -> Self {
        if let Some(common) = self.common() {
            common.status = ResponseStatus::ContinueAndReplace.into();
        }
        self.replace(body.into())
    }
}

impl Reply<Body> {
    /// Have Envoy pick the route again (request body, BUFFERED modes).
    pub fn clear_route_cache(mut self) -> Self {
        if let Some(common) = self.common() {
            common.clear_route_cache = true;
        }
        self
    }

    /// Replace the whole body with `body`, in every mode: the rest of a streamed body is dropped,
    /// and this handler is not called for it. Remove `content-length` in the headers phase, or
    /// Envoy refuses a body whose length no longer matches it.
    pub fn replace_body(self, body: impl Into<Vec<u8>>) -> Self {
        Self {
            scope: Scope::Whole,
            ..self.replace(body.into())
        }
    }

    /// Empty the whole body, in every mode.
    pub fn clear_body(self) -> Self {
        self.replace_body(Vec::new())
    }

    /// Replace this message's bytes only (and, in FULL_DUPLEX_STREAMED, any held back before
    /// them); the body's later messages still reach the handler. In BUFFERED mode, the message
    /// is the whole body.
    pub fn replace_chunk(self, chunk: impl Into<Vec<u8>>) -> Self {
        Self {
            scope: Scope::Chunk,
            ..self.replace(chunk.into())
        }
    }

    /// Keep this chunk back, to send it with a later one (FULL_DUPLEX_STREAMED only; in other
    /// modes Envoy needs each chunk answered, so it goes on unchanged). The chunks held are sent
    /// before the next one that is not held, and at the end of the body at the latest.
    pub fn hold() -> Self {
        Self {
            scope: Scope::Hold,
            ..Self::default()
        }
    }
}

/// The mutation that makes the body `body`; an empty one is sent as Envoy's `clear_body`.
fn body_mutation(body: Vec<u8>) -> BodyMutation {
    let mutation = if body.is_empty() {
        Mutation::ClearBody(true)
    } else {
        Mutation::Body(body)
    };
    BodyMutation {
        mutation: Some(mutation),
    }
}

/// A header option as Envoy takes it in a mutation: the value in `raw_value`, the name in lower
/// case.
pub(crate) fn header_option(
    name: &str,
    value: impl Into<Vec<u8>>,
    action: HeaderAppendAction,
) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: name.to_ascii_lowercase(),
            raw_value: value.into(),
            ..HeaderValue::default()
        }),
        append_action: action.into(),
        ..HeaderValueOption::default()
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::value::Kind;

    use super::*;

    #[test]
    fn continue_and_replace_carries_the_status_and_the_body() {
        let reply = HeadersReply::new()
            .remove_header("content-length")
            .continue_and_replace("whole");
        let Action::Continue(common) = reply.action else {
            panic!("not a CONTINUE: {reply:?}");
        };
        assert_eq!(common.status(), ResponseStatus::ContinueAndReplace);
        assert_eq!(
            common.body_mutation.unwrap().mutation,
            Some(Mutation::Body(b"whole".to_vec()))
        );
    }

    #[test]
    fn metadata_is_a_struct_per_namespace() {
        let text = |text: &str| Value {
            kind: Some(Kind::StringValue(text.to_owned())),
        };
        let reply = BodyReply::new()
            .metadata("callout", "a", text("1"))
            .metadata("callout", "b", text("2"))
            .metadata("other", "c", text("3"));
        let metadata = reply.dynamic_metadata.unwrap();
        let Some(Kind::StructValue(callout)) = &metadata.fields["callout"].kind else {
            panic!("the namespace is not a Struct: {metadata:?}");
        };
        assert_eq!(callout.fields.len(), 2);
        assert_eq!(metadata.fields.len(), 2);
    }

    #[test]
    fn an_immediate_reply_takes_no_changes() {
        let reply = TrailersReply::from(Immediate::status(403)).add_header("x-dropped", "1");
        assert!(matches!(reply.action, Action::Immediate(_)), "{reply:?}");
    }

    #[test]
    fn clearing_the_body_is_a_whole_body_clear() {
        let reply = BodyReply::new().clear_body();
        assert_eq!(reply.scope, Scope::Whole);
        let Action::Continue(common) = reply.action else {
            panic!("not a CONTINUE");
        };
        assert_eq!(
            common.body_mutation.unwrap().mutation,
            Some(Mutation::ClearBody(true))
        );
    }
}
