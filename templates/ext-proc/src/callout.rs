//! The callout: one handler per phase of an HTTP request, and the `ExternalProcessor` service
//! that drives them.
//!
//! Envoy opens one stream per HTTP request and sends one message per phase (request headers,
//! request body, ..., response trailers). Every handler defaults to CONTINUE, so a phase you do not
//! handle is still answered: an unanswered phase, or an answer for the wrong phase, stalls the
//! request until Envoy's message timeout.

use std::future::Future;
use std::sync::Arc;

use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Answer;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, HttpBody,
    HttpHeaders, HttpTrailers, ImmediateResponse, ProcessingRequest, ProcessingResponse,
    TrailersResponse,
};
use tonic::{Request, Response, Status, Streaming};

use crate::replies::{Replies, Respond, replies};

/// What a handler answers for one phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Reply {
    /// Let the phase go on unchanged.
    #[default]
    Continue,
    /// Go on with changes: header and body mutations, `clear_route_cache`, ... Trailer phases
    /// take the header mutation only.
    Mutate(CommonResponse),
    /// Stop the request here, and answer the client with this response.
    Immediate(ImmediateResponse),
    /// A whole response, for dynamic metadata, `mode_override` and the like. If its `response` is
    /// unset, the phase's CONTINUE is filled in, so it is never empty.
    Full(ProcessingResponse),
}

impl From<CommonResponse> for Reply {
    fn from(response: CommonResponse) -> Self {
        Self::Mutate(response)
    }
}

impl From<HeaderMutation> for Reply {
    fn from(mutation: HeaderMutation) -> Self {
        Self::Mutate(CommonResponse {
            header_mutation: Some(mutation),
            ..CommonResponse::default()
        })
    }
}

impl From<BodyMutation> for Reply {
    fn from(mutation: BodyMutation) -> Self {
        Self::Mutate(CommonResponse {
            body_mutation: Some(mutation),
            ..CommonResponse::default()
        })
    }
}

impl From<ImmediateResponse> for Reply {
    fn from(response: ImmediateResponse) -> Self {
        Self::Immediate(response)
    }
}

impl From<ProcessingResponse> for Reply {
    fn from(response: ProcessingResponse) -> Self {
        Self::Full(response)
    }
}

/// The answer to `phase`: `reply`, carried in the response field that matches the phase.
pub fn answer(phase: &Phase, reply: Reply) -> ProcessingResponse {
    let (mut response, common) = match reply {
        Reply::Continue => (ProcessingResponse::default(), None),
        Reply::Mutate(common) => (ProcessingResponse::default(), Some(common)),
        Reply::Immediate(immediate) => {
            return ProcessingResponse {
                response: Some(Answer::ImmediateResponse(immediate)),
                ..ProcessingResponse::default()
            };
        }
        Reply::Full(response) => (response, None),
    };
    if response.response.is_none() {
        let headers = || HeadersResponse {
            response: common.clone(),
        };
        let body = || BodyResponse {
            response: common.clone(),
        };
        let trailers = || TrailersResponse {
            header_mutation: common.clone().and_then(|common| common.header_mutation),
        };
        response.response = Some(match phase {
            Phase::RequestHeaders(_) => Answer::RequestHeaders(headers()),
            Phase::ResponseHeaders(_) => Answer::ResponseHeaders(headers()),
            Phase::RequestBody(_) => Answer::RequestBody(body()),
            Phase::ResponseBody(_) => Answer::ResponseBody(body()),
            Phase::RequestTrailers(_) => Answer::RequestTrailers(trailers()),
            Phase::ResponseTrailers(_) => Answer::ResponseTrailers(trailers()),
        });
    }
    response
}

/// Your callout: override the phases you care about; the others answer CONTINUE.
///
/// `State` lives for one HTTP request, across its phases: record something while handling the
/// request headers, and read it back while handling the response.
pub trait Callout: Send + Sync + 'static {
    /// Per-request state, created with `Default` when Envoy opens the request's stream.
    type State: Default + Send + 'static;

    fn on_request_headers(
        &self,
        _headers: &HttpHeaders,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    fn on_response_headers(
        &self,
        _headers: &HttpHeaders,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    fn on_request_body(
        &self,
        _body: &HttpBody,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    fn on_response_body(
        &self,
        _body: &HttpBody,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    fn on_request_trailers(
        &self,
        _trailers: &HttpTrailers,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    fn on_response_trailers(
        &self,
        _trailers: &HttpTrailers,
        _state: &mut Self::State,
    ) -> impl Future<Output = Reply> + Send {
        async { Reply::Continue }
    }

    /// Handle one message of the stream: its `phase`, taken out of `_message`. The default calls
    /// the phase's handler; override it to read the rest of the message (`attributes`,
    /// `metadata_context`, ...), and build the reply with [`answer`].
    fn process(
        &self,
        phase: Phase,
        _message: &ProcessingRequest,
        state: &mut Self::State,
    ) -> impl Future<Output = ProcessingResponse> + Send {
        async move {
            let reply = match &phase {
                Phase::RequestHeaders(headers) => self.on_request_headers(headers, state).await,
                Phase::ResponseHeaders(headers) => self.on_response_headers(headers, state).await,
                Phase::RequestBody(body) => self.on_request_body(body, state).await,
                Phase::ResponseBody(body) => self.on_response_body(body, state).await,
                Phase::RequestTrailers(trailers) => self.on_request_trailers(trailers, state).await,
                Phase::ResponseTrailers(trailers) => {
                    self.on_response_trailers(trailers, state).await
                }
            };
            answer(&phase, reply)
        }
    }
}

/// The `envoy.service.ext_proc.v3.ExternalProcessor` service around a [`Callout`].
#[derive(Debug)]
pub struct Processor<C> {
    callout: Arc<C>,
}

impl<C: Callout> Processor<C> {
    pub fn new(callout: C) -> Self {
        Self {
            callout: Arc::new(callout),
        }
    }

    /// The tonic service, ready to add to the server.
    pub fn into_service(self) -> ExternalProcessorServer<Self> {
        ExternalProcessorServer::new(self)
    }
}

/// One request's stream: the callout, and the request's state.
struct Exchange<C: Callout> {
    callout: Arc<C>,
    state: C::State,
}

impl<C: Callout> Respond<ProcessingRequest> for Exchange<C> {
    type Reply = ProcessingResponse;

    async fn respond(
        &mut self,
        mut message: ProcessingRequest,
    ) -> Option<Result<ProcessingResponse, Status>> {
        let Some(phase) = message.request.take() else {
            let status = Status::invalid_argument("a ProcessingRequest without a phase");
            return Some(Err(status));
        };
        let name = match &phase {
            Phase::RequestHeaders(_) => "request_headers",
            Phase::ResponseHeaders(_) => "response_headers",
            Phase::RequestBody(_) => "request_body",
            Phase::ResponseBody(_) => "response_body",
            Phase::RequestTrailers(_) => "request_trailers",
            Phase::ResponseTrailers(_) => "response_trailers",
        };
        metrics::counter!("ext_proc_messages_total", "phase" => name).increment(1);
        let response = self.callout.process(phase, &message, &mut self.state).await;
        // In observability mode Envoy expects no reply at all.
        (!message.observability_mode).then_some(Ok(response))
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
            state: C::State::default(),
        };
        Ok(Response::new(replies(request.into_inner(), exchange)))
    }
}
