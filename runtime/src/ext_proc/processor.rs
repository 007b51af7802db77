//! The `Callout` trait, with one handler per phase of an HTTP request, the [`Context`] each
//! handler gets, and the `ExternalProcessor` service that drives a callout.
//!
//! Envoy opens one stream per HTTP request and sends one message per phase (request headers,
//! request body, ..., response trailers). Every handler defaults to CONTINUE, so a phase you do
//! not handle is still answered, and the service turns each reply into the answer that the
//! stream's body mode needs: one `BodyResponse` per message in STREAMED and BUFFERED modes,
//! `streamed_response` chunks in FULL_DUPLEX_STREAMED.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Metadata;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::BodySendMode;
use envoy_types::pb::envoy::service::ext_proc::v3::body_mutation::Mutation;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Answer;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, HeadersResponse, HttpBody, HttpHeaders,
    HttpTrailers, ProcessingRequest, ProcessingResponse, StreamedBodyResponse, TrailersResponse,
};
use envoy_types::pb::google::protobuf::{Duration as ProtoDuration, Struct, Value};
use metrics::Counter;
use tonic::{Request, Response, Status, Streaming};
use tracing::warn;

use super::replies::{Replies, Respond, replies};
use super::reply::{Action, BodyReply, HeadersReply, Reply, Scope, TrailersReply};

/// What a handler knows about its stream, besides the message: the processing mode, the
/// request's attributes and metadata, and your per-request state.
#[derive(Debug, Default)]
pub struct Context<S> {
    /// Per-request state: record something while handling the request headers, and read it back
    /// while handling the response.
    pub state: S,
    mode: ProcessingMode,
    attributes: HashMap<String, Struct>,
    metadata: Metadata,
    request_body: Flow,
    response_body: Flow,
}

impl<S> Context<S> {
    /// The stream's processing mode: the body modes from Envoy's `protocol_config` on the first
    /// message, then any `mode_override` a reply made. The header and trailer modes stay
    /// DEFAULT (the filter's), since Envoy does not send them.
    pub fn mode(&self) -> ProcessingMode {
        self.mode
    }

    /// The body mode of the request (`request`) or the response.
    pub fn body_mode(&self, request: bool) -> BodySendMode {
        if request {
            self.mode.request_body_mode()
        } else {
            self.mode.response_body_mode()
        }
    }

    /// An attribute that Envoy's `request_attributes` or `response_attributes` asked for, such as
    /// `request.path` or `source.address`.
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes
            .values()
            .find_map(|attributes| attributes.fields.get(name))
    }

    /// The metadata Envoy forwards (`metadata_options.forwarding_namespaces`), by namespace.
    pub fn metadata(&self, namespace: &str) -> Option<&Struct> {
        self.metadata.filter_metadata.get(namespace)
    }

    fn take_in(&mut self, message: &mut ProcessingRequest) {
        if let Some(config) = &message.protocol_config {
            self.mode.request_body_mode = config.request_body_mode;
            self.mode.response_body_mode = config.response_body_mode;
        }
        self.attributes.extend(message.attributes.drain());
        if let Some(metadata) = message.metadata_context.take() {
            self.metadata
                .filter_metadata
                .extend(metadata.filter_metadata);
            self.metadata
                .typed_filter_metadata
                .extend(metadata.typed_filter_metadata);
        }
    }
}

/// Where one side's body stands, across its messages.
#[derive(Debug, Default)]
struct Flow {
    /// Bytes held back in FULL_DUPLEX_STREAMED, not yet sent on.
    held: Vec<u8>,
    /// Dynamic metadata of held replies, sent with the next chunk.
    metadata: Option<Struct>,
    /// The whole body was replaced: the rest is dropped.
    replaced: bool,
}

/// Your callout: override the phases you care about; the others answer CONTINUE.
pub trait Callout: Send + Sync + 'static {
    /// Per-request state, created with `Default` when Envoy opens the request's stream.
    type State: Default + Send + 'static;

    /// The request's headers, before the request goes upstream.
    fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = HeadersReply> + Send {
        async { Reply::new() }
    }

    /// The response's headers, before the response goes to the client.
    fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = HeadersReply> + Send {
        async { Reply::new() }
    }

    /// One message of the request body: the whole body in BUFFERED mode, a chunk in the streamed
    /// modes (`end_of_stream` on the last).
    fn on_request_body(
        &self,
        _body: &HttpBody,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = BodyReply> + Send {
        async { Reply::new() }
    }

    /// One message of the response body, as [`Callout::on_request_body`] gets the request's.
    fn on_response_body(
        &self,
        _body: &HttpBody,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = BodyReply> + Send {
        async { Reply::new() }
    }

    /// The request's trailers, when Envoy's processing mode sends them.
    fn on_request_trailers(
        &self,
        _trailers: &HttpTrailers,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = TrailersReply> + Send {
        async { Reply::new() }
    }

    /// The response's trailers, when Envoy's processing mode sends them.
    fn on_response_trailers(
        &self,
        _trailers: &HttpTrailers,
        _cx: &mut Context<Self::State>,
    ) -> impl Future<Output = TrailersReply> + Send {
        async { Reply::new() }
    }

    /// More time for `phase` than Envoy's `message_timeout`, before its handler runs: Envoy
    /// restarts the phase's timer with this (up to its `max_message_timeout`).
    fn extend_timeout(&self, _phase: &Phase, _cx: &Context<Self::State>) -> Option<Duration> {
        None
    }

    /// See each message whole, before its handler: for counting or logging.
    fn observe(&self, _message: &ProcessingRequest, _cx: &mut Context<Self::State>) {}
}

/// The `envoy.service.ext_proc.v3.ExternalProcessor` service around a [`Callout`].
#[derive(Debug)]
pub struct Processor<C> {
    callout: Arc<C>,
    messages: Arc<Messages>,
}

impl<C: Callout> Processor<C> {
    /// The service around `callout`.
    pub fn new(callout: C) -> Self {
        Self {
            callout: Arc::new(callout),
            messages: Arc::default(),
        }
    }

    /// The tonic service, ready to add to the server.
    pub fn into_service(self) -> ExternalProcessorServer<Self> {
        ExternalProcessorServer::new(self)
    }
}

/// One request's stream: the callout, and the request's context.
struct Exchange<C: Callout> {
    callout: Arc<C>,
    messages: Arc<Messages>,
    cx: Context<C::State>,
}

impl<C: Callout> Exchange<C> {
    /// The answers to `phase`, in the order Envoy needs them.
    async fn answer(&mut self, phase: Phase, out: &mut VecDeque<ProcessingResponse>) {
        let (callout, cx) = (&*self.callout, &mut self.cx);
        match phase {
            Phase::RequestHeaders(headers) => {
                let reply = callout.on_request_headers(&headers, cx).await;
                out.push_back(headers_answer(reply, cx, Answer::RequestHeaders));
            }
            Phase::ResponseHeaders(headers) => {
                let reply = callout.on_response_headers(&headers, cx).await;
                out.push_back(headers_answer(reply, cx, Answer::ResponseHeaders));
            }
            Phase::RequestBody(body) => {
                let mode = cx.body_mode(true);
                let reply = if cx.request_body.replaced {
                    None
                } else {
                    Some(callout.on_request_body(&body, cx).await)
                };
                body_answers(
                    reply,
                    body,
                    mode,
                    &mut cx.request_body,
                    Answer::RequestBody,
                    out,
                );
            }
            Phase::ResponseBody(body) => {
                let mode = cx.body_mode(false);
                let reply = if cx.response_body.replaced {
                    None
                } else {
                    Some(callout.on_response_body(&body, cx).await)
                };
                body_answers(
                    reply,
                    body,
                    mode,
                    &mut cx.response_body,
                    Answer::ResponseBody,
                    out,
                );
            }
            Phase::RequestTrailers(trailers) => {
                release(&mut cx.request_body, Answer::RequestBody, out);
                let reply = callout.on_request_trailers(&trailers, cx).await;
                out.push_back(trailers_answer(reply, Answer::RequestTrailers));
            }
            Phase::ResponseTrailers(trailers) => {
                release(&mut cx.response_body, Answer::ResponseBody, out);
                let reply = callout.on_response_trailers(&trailers, cx).await;
                out.push_back(trailers_answer(reply, Answer::ResponseTrailers));
            }
        }
    }
}

/// The message that carries `action` (and `dynamic_metadata`), with `wrap` making a CONTINUE
/// into the phase's own answer.
fn message<T>(
    action: Action,
    dynamic_metadata: Option<Struct>,
    wrap: impl FnOnce(CommonResponse) -> T,
    into: impl FnOnce(T) -> Answer,
) -> ProcessingResponse {
    let response = match action {
        Action::Continue(common) => into(wrap(common)),
        Action::Immediate(immediate) => Answer::ImmediateResponse(immediate),
    };
    ProcessingResponse {
        response: Some(response),
        dynamic_metadata,
        ..ProcessingResponse::default()
    }
}

/// A CONTINUE with no changes is sent without a `CommonResponse`, as Envoy's own tests do.
fn changes(common: CommonResponse) -> Option<CommonResponse> {
    (common != CommonResponse::default()).then_some(common)
}

fn headers_answer<S>(
    reply: HeadersReply,
    cx: &mut Context<S>,
    into: fn(HeadersResponse) -> Answer,
) -> ProcessingResponse {
    if let Some(mode) = &reply.mode_override {
        cx.mode.request_body_mode = mode.request_body_mode;
        cx.mode.response_body_mode = mode.response_body_mode;
    }
    let wrap = |common| HeadersResponse {
        response: changes(common),
    };
    ProcessingResponse {
        mode_override: reply.mode_override,
        ..message(reply.action, reply.dynamic_metadata, wrap, into)
    }
}

fn trailers_answer(
    reply: TrailersReply,
    into: fn(TrailersResponse) -> Answer,
) -> ProcessingResponse {
    let wrap = |common: CommonResponse| TrailersResponse {
        header_mutation: common.header_mutation,
    };
    message(reply.action, reply.dynamic_metadata, wrap, into)
}

/// The answers to one body message: exactly one in STREAMED and BUFFERED modes; in
/// FULL_DUPLEX_STREAMED, a `streamed_response` chunk for what goes on now, if anything does.
/// `reply` is `None` once the whole body was replaced.
fn body_answers(
    reply: Option<BodyReply>,
    body: HttpBody,
    mode: BodySendMode,
    flow: &mut Flow,
    into: fn(BodyResponse) -> Answer,
    out: &mut VecDeque<ProcessingResponse>,
) {
    let full_duplex = mode == BodySendMode::FullDuplexStreamed;
    let Some(mut reply) = reply else {
        // The rest of a replaced body: cleared chunk by chunk, or dropped in full duplex.
        if !full_duplex {
            out.push_back(body_message(into, cleared()));
        } else if body.end_of_stream {
            out.push_back(body_message(into, streamed(Vec::new(), true)));
        }
        return;
    };
    if let Action::Continue(common) = &mut reply.action {
        if reply.scope == Scope::Whole && !body.end_of_stream {
            flow.replaced = true;
        }
        if full_duplex {
            if reply.scope == Scope::Hold && !body.end_of_stream {
                append(&mut flow.held, body.body);
                flow.metadata = reply.dynamic_metadata.or(flow.metadata.take());
                return;
            }
            let bytes = match common.body_mutation.take().and_then(|m| m.mutation) {
                Some(Mutation::Body(bytes)) => bytes,
                Some(Mutation::ClearBody(_)) => Vec::new(),
                _ => {
                    let mut bytes = std::mem::take(&mut flow.held);
                    append(&mut bytes, body.body);
                    bytes
                }
            };
            flow.held.clear();
            common.body_mutation = streamed(bytes, body.end_of_stream).body_mutation;
            reply.dynamic_metadata = reply.dynamic_metadata.or(flow.metadata.take());
        } else if reply.scope == Scope::Hold {
            warn!(
                ?mode,
                "a body chunk can be held only in FULL_DUPLEX_STREAMED; sent on"
            );
        }
    }
    let wrap = |common| BodyResponse {
        response: changes(common),
    };
    out.push_back(message(reply.action, reply.dynamic_metadata, wrap, into));
}

/// `chunk` after `bytes`: moved, not copied, when nothing is held, as for a chunk passed through.
fn append(bytes: &mut Vec<u8>, chunk: Vec<u8>) {
    if bytes.is_empty() {
        *bytes = chunk;
    } else {
        bytes.extend_from_slice(&chunk);
    }
}

/// In FULL_DUPLEX_STREAMED, send on what is held before the trailers' answer: the body ends
/// with the trailers, not with a chunk.
fn release(
    flow: &mut Flow,
    into: fn(BodyResponse) -> Answer,
    out: &mut VecDeque<ProcessingResponse>,
) {
    if !flow.held.is_empty() || flow.metadata.is_some() {
        let held = std::mem::take(&mut flow.held);
        out.push_back(ProcessingResponse {
            dynamic_metadata: flow.metadata.take(),
            ..body_message(into, streamed(held, false))
        });
    }
}

fn body_message(into: fn(BodyResponse) -> Answer, common: CommonResponse) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(into(BodyResponse {
            response: Some(common),
        })),
        ..ProcessingResponse::default()
    }
}

fn cleared() -> CommonResponse {
    CommonResponse {
        body_mutation: Some(BodyMutation {
            mutation: Some(Mutation::ClearBody(true)),
        }),
        ..CommonResponse::default()
    }
}

fn streamed(body: Vec<u8>, end_of_stream: bool) -> CommonResponse {
    CommonResponse {
        body_mutation: Some(BodyMutation {
            mutation: Some(Mutation::StreamedResponse(StreamedBodyResponse {
                body,
                end_of_stream,
                ..StreamedBodyResponse::default()
            })),
        }),
        ..CommonResponse::default()
    }
}

/// `ext_proc_messages_total` of each phase, registered once, at the first message (the recorder
/// is installed by then), rather than looked up by name and label at every message.
#[derive(Debug, Default)]
struct Messages(OnceLock<[Counter; 6]>);

impl Messages {
    fn count(&self, phase: &Phase) {
        let index = match phase {
            Phase::RequestHeaders(_) => 0,
            Phase::ResponseHeaders(_) => 1,
            Phase::RequestBody(_) => 2,
            Phase::ResponseBody(_) => 3,
            Phase::RequestTrailers(_) => 4,
            Phase::ResponseTrailers(_) => 5,
        };
        let counters = self.0.get_or_init(|| {
            [
                "request_headers",
                "response_headers",
                "request_body",
                "response_body",
                "request_trailers",
                "response_trailers",
            ]
            .map(|phase| metrics::counter!("ext_proc_messages_total", "phase" => phase))
        });
        counters[index].increment(1);
    }
}

impl<C: Callout> Respond<ProcessingRequest> for Exchange<C> {
    type Reply = ProcessingResponse;

    fn before(&mut self, message: &mut ProcessingRequest) -> Option<ProcessingResponse> {
        self.cx.take_in(message);
        self.callout.observe(message, &mut self.cx);
        let phase = message.request.as_ref()?;
        if message.observability_mode {
            return None;
        }
        let timeout = self.callout.extend_timeout(phase, &self.cx)?;
        // Alone in its message: Envoy ignores the rest of a message that extends the timeout.
        Some(ProcessingResponse {
            override_message_timeout: Some(ProtoDuration {
                seconds: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(timeout.subsec_nanos()).unwrap_or_default(),
            }),
            ..ProcessingResponse::default()
        })
    }

    async fn respond(
        &mut self,
        mut message: ProcessingRequest,
        out: &mut VecDeque<ProcessingResponse>,
    ) -> Result<(), Status> {
        let Some(phase) = message.request.take() else {
            return Err(Status::invalid_argument(
                "a ProcessingRequest without a phase",
            ));
        };
        self.messages.count(&phase);
        if message.observability_mode {
            // Envoy expects no reply at all: the handlers run, their answers are dropped.
            self.answer(phase, &mut VecDeque::new()).await;
            return Ok(());
        }
        self.answer(phase, out).await;
        Ok(())
    }
}

#[tonic::async_trait]
impl<C: Callout> ExternalProcessor for Processor<C> {
    type ProcessStream = Replies<ProcessingResponse>;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Self::ProcessStream>, Status> {
        let exchange = Exchange {
            callout: Arc::clone(&self.callout),
            messages: Arc::clone(&self.messages),
            cx: Context::default(),
        };
        Ok(Response::new(replies(request.into_inner(), exchange)))
    }
}
