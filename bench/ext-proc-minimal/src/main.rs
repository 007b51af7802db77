//! `ext-proc-minimal ADDRESS`: an ext_proc server that adds `x-minimal: 1` to each request, and
//! answers every other phase with CONTINUE (in FULL_DUPLEX_STREAMED, each body chunk sent back
//! unchanged). No logging, health or limits: the bare protocol.

use std::pin::Pin;

use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::BodySendMode;
use envoy_types::pb::envoy::service::ext_proc::v3::body_mutation::Mutation;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Answer;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, HttpBody,
    ProcessingRequest, ProcessingResponse, StreamedBodyResponse, TrailersResponse,
};
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

struct Minimal;

/// A body chunk's answer: CONTINUE, or in full duplex the chunk itself.
fn body(body: HttpBody, full_duplex: bool) -> BodyResponse {
    if !full_duplex {
        return BodyResponse::default();
    }
    BodyResponse {
        response: Some(CommonResponse {
            body_mutation: Some(BodyMutation {
                mutation: Some(Mutation::StreamedResponse(StreamedBodyResponse {
                    body: body.body,
                    end_of_stream: body.end_of_stream,
                    ..StreamedBodyResponse::default()
                })),
            }),
            ..CommonResponse::default()
        }),
    }
}

fn answer(request: ProcessingRequest, full_duplex: bool) -> Result<ProcessingResponse, Status> {
    let answer = match request.request {
        Some(Phase::RequestHeaders(_)) => Answer::RequestHeaders(HeadersResponse {
            response: Some(CommonResponse {
                header_mutation: Some(HeaderMutation {
                    set_headers: vec![HeaderValueOption {
                        header: Some(HeaderValue {
                            key: "x-minimal".into(),
                            raw_value: b"1".to_vec(),
                            ..HeaderValue::default()
                        }),
                        ..HeaderValueOption::default()
                    }],
                    ..HeaderMutation::default()
                }),
                ..CommonResponse::default()
            }),
        }),
        Some(Phase::ResponseHeaders(_)) => Answer::ResponseHeaders(HeadersResponse::default()),
        Some(Phase::RequestBody(chunk)) => Answer::RequestBody(body(chunk, full_duplex)),
        Some(Phase::ResponseBody(chunk)) => Answer::ResponseBody(body(chunk, full_duplex)),
        Some(Phase::RequestTrailers(_)) => Answer::RequestTrailers(TrailersResponse::default()),
        Some(Phase::ResponseTrailers(_)) => Answer::ResponseTrailers(TrailersResponse::default()),
        None => return Err(Status::invalid_argument("no phase")),
    };
    Ok(ProcessingResponse {
        response: Some(answer),
        ..ProcessingResponse::default()
    })
}

type Replies = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalProcessor for Minimal {
    type ProcessStream = Replies;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Replies>, Status> {
        // Both directions share one mode here, as the benchmark's configs do.
        let mut full_duplex = false;
        let replies = request.into_inner().map(move |message| {
            let message = message?;
            if let Some(config) = &message.protocol_config {
                full_duplex = config.request_body_mode() == BodySendMode::FullDuplexStreamed;
            }
            answer(message, full_duplex)
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args().nth(1).ok_or("usage: ext-proc-minimal ADDRESS")?;
    tonic::transport::Server::builder()
        .add_service(ExternalProcessorServer::new(Minimal))
        .serve(address.parse()?)
        .await?;
    Ok(())
}
