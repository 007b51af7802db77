//! `ext-proc-minimal ADDRESS`: an ext_proc server that adds `x-minimal: 1` to each request, and
//! answers every other phase with CONTINUE. No logging, health or limits: the bare protocol.

use std::pin::Pin;

use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Answer;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, ProcessingRequest,
    ProcessingResponse, TrailersResponse,
};
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

struct Minimal;

fn answer(request: ProcessingRequest) -> Result<ProcessingResponse, Status> {
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
        Some(Phase::RequestBody(_)) => Answer::RequestBody(BodyResponse::default()),
        Some(Phase::ResponseBody(_)) => Answer::ResponseBody(BodyResponse::default()),
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
        let replies = request
            .into_inner()
            .map(|message| message.and_then(answer));
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
