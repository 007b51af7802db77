//! The processor in every body mode, and every example, through the real gRPC service as Envoy
//! drives it: one stream per HTTP request, one message per phase, and the exact reply checked
//! for each. Then the protos of reflection, against the wire that envoy-types encodes.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser as _;
use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{
    HeaderMap, HeaderValue, HeaderValueOption, Metadata,
};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::{
    BodySendMode, HeaderSendMode,
};
use envoy_types::pb::envoy::service::ext_proc::v3::body_mutation::Mutation;
use envoy_types::pb::envoy::service::ext_proc::v3::common_response::ResponseStatus;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_client::ExternalProcessorClient;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as Phase;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Answer;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, GrpcStatus, HeaderMutation, HeadersResponse,
    HttpBody, HttpHeaders, HttpTrailers, ImmediateResponse, ProcessingRequest, ProcessingResponse,
    ProtocolConfiguration, StreamedBodyResponse, TrailersResponse,
};
use envoy_types::pb::envoy::r#type::v3::{HttpStatus, StatusCode};
use envoy_types::pb::google::protobuf::Duration;
use envoy_types::pb::google::protobuf::value::Kind;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use serde_json::json;
use tokio::sync::mpsc;
use tonic::{Code, Streaming};

use super::examples::basic::Basic;
use super::examples::observability::Observability;
use super::tools::DYNAMIC_FORWARDING_NAMESPACE;
use super::{BodyReply, Callout, CalloutArgs, Context, FILE_DESCRIPTOR_SET, HeadersReply, serve};
use crate::callout::testing::{at, decode, nested, outbound, start};
use crate::server::{MessageLimits, Services};

/// The default limits: 4 MiB each way.
const LIMITS: MessageLimits = MessageLimits {
    receive: 4 << 20,
    send: 4 << 20,
};

/// `--example` and the examples' settings.
#[derive(clap::Parser)]
struct Flags {
    #[command(flatten)]
    callout: CalloutArgs,
}

/// The services that `flags` pick, with [`Basic`] as the project's own callout.
fn services(flags: &[&str]) -> anyhow::Result<Services> {
    let flags = Flags::parse_from(std::iter::once("test").chain(flags.iter().copied()));
    flags.callout.services(LIMITS, Basic)
}

/// A server of the services that `flags` pick, until the test ends: its URL.
async fn start_with(flags: &[&str]) -> String {
    start(services(flags).unwrap()).await
}

/// A server of `callout` alone, until the test ends: its URL.
async fn start_callout(callout: impl Callout) -> String {
    let mut services = Services::default();
    serve(&mut services, LIMITS, callout);
    start(services).await
}

/// One HTTP request's stream, as Envoy opens it.
struct Exchange {
    messages: mpsc::Sender<ProcessingRequest>,
    replies: Streaming<ProcessingResponse>,
}

impl Exchange {
    async fn open(server: &str) -> Self {
        let mut client = ExternalProcessorClient::connect(server.to_owned())
            .await
            .unwrap();
        let (messages, stream) = outbound();
        let replies = client.process(stream).await.unwrap().into_inner();
        Self { messages, replies }
    }

    /// Send `phase`, and return the reply.
    async fn send(&mut self, phase: Phase) -> ProcessingResponse {
        self.send_message(ProcessingRequest {
            request: Some(phase),
            ..ProcessingRequest::default()
        })
        .await
        .unwrap()
    }

    async fn send_message(
        &mut self,
        message: ProcessingRequest,
    ) -> Result<ProcessingResponse, tonic::Status> {
        self.messages.send(message).await.unwrap();
        self.replies
            .message()
            .await
            .map(|reply| reply.expect("the server ended the stream"))
    }

    /// Send `phase`, and expect the reply that lets it continue unchanged.
    async fn expect_continue(&mut self, phase: Phase) {
        let expected = continued(&phase, None);
        assert_eq!(self.send(phase).await, expected);
    }
}

fn headers(pairs: &[(&str, &str)]) -> HttpHeaders {
    HttpHeaders {
        headers: Some(HeaderMap {
            headers: pairs
                .iter()
                .map(|(key, value)| HeaderValue {
                    key: (*key).to_owned(),
                    raw_value: value.as_bytes().to_vec(),
                    ..HeaderValue::default()
                })
                .collect(),
        }),
        ..HttpHeaders::default()
    }
}

fn request_headers(pairs: &[(&str, &str)]) -> Phase {
    let mut all = vec![
        (":method", "POST"),
        (":path", "/"),
        (":authority", "example.com"),
    ];
    all.extend_from_slice(pairs);
    Phase::RequestHeaders(headers(&all))
}

fn response_headers(pairs: &[(&str, &str)]) -> Phase {
    let mut all = vec![(":status", "200")];
    all.extend_from_slice(pairs);
    Phase::ResponseHeaders(headers(&all))
}

fn body(text: &str) -> HttpBody {
    HttpBody {
        body: text.as_bytes().to_vec(),
        end_of_stream: true,
        ..HttpBody::default()
    }
}

fn trailers() -> HttpTrailers {
    HttpTrailers {
        trailers: headers(&[("x-checksum", "1")]).headers,
    }
}

/// The reply to `phase` that continues it, with `common` changes.
fn continued(phase: &Phase, common: Option<CommonResponse>) -> ProcessingResponse {
    let answer = match phase {
        Phase::RequestHeaders(_) => Answer::RequestHeaders(HeadersResponse { response: common }),
        Phase::ResponseHeaders(_) => Answer::ResponseHeaders(HeadersResponse { response: common }),
        Phase::RequestBody(_) => Answer::RequestBody(BodyResponse { response: common }),
        Phase::ResponseBody(_) => Answer::ResponseBody(BodyResponse { response: common }),
        Phase::RequestTrailers(_) => Answer::RequestTrailers(TrailersResponse {
            header_mutation: common.and_then(|common| common.header_mutation),
        }),
        Phase::ResponseTrailers(_) => Answer::ResponseTrailers(TrailersResponse {
            header_mutation: common.and_then(|common| common.header_mutation),
        }),
    };
    ProcessingResponse {
        response: Some(answer),
        ..ProcessingResponse::default()
    }
}

fn set(name: &str, value: &str, action: HeaderAppendAction) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: name.to_owned(),
            raw_value: value.as_bytes().to_vec(),
            ..HeaderValue::default()
        }),
        append_action: action.into(),
        ..HeaderValueOption::default()
    }
}

/// Continue with these header changes.
fn header_changes(set_headers: Vec<HeaderValueOption>, remove: &[&str]) -> CommonResponse {
    CommonResponse {
        header_mutation: Some(HeaderMutation {
            set_headers,
            remove_headers: remove.iter().map(|name| (*name).to_owned()).collect(),
        }),
        ..CommonResponse::default()
    }
}

fn replaced_body(text: &str) -> CommonResponse {
    CommonResponse {
        body_mutation: Some(BodyMutation {
            mutation: Some(Mutation::Body(text.as_bytes().to_vec())),
        }),
        ..CommonResponse::default()
    }
}

/// The immediate response of `reply`, or a failure that shows what came instead.
fn immediate(reply: ProcessingResponse) -> ImmediateResponse {
    match reply.response {
        Some(Answer::ImmediateResponse(immediate)) => immediate,
        other => panic!("expected an immediate response, got {other:?}"),
    }
}

/// The headers an immediate response sets, as (name, value) text.
fn immediate_headers(response: &ImmediateResponse) -> Vec<(String, String)> {
    response
        .headers
        .iter()
        .flat_map(|mutation| &mutation.set_headers)
        .filter_map(|option| option.header.as_ref())
        .map(|header| {
            (
                header.key.clone(),
                String::from_utf8(header.raw_value.clone()).unwrap(),
            )
        })
        .collect()
}

fn status(code: i32) -> Option<HttpStatus> {
    Some(HttpStatus { code })
}

const APPEND: HeaderAppendAction = HeaderAppendAction::AppendIfExistsOrAdd;
const OVERWRITE: HeaderAppendAction = HeaderAppendAction::OverwriteIfExistsOrAdd;

/// The seed's basic changes to the request headers.
fn basic_request_changes() -> CommonResponse {
    CommonResponse {
        clear_route_cache: true,
        ..header_changes(
            vec![
                set("header-request", "request", APPEND),
                set(":authority", "service-extensions.com", OVERWRITE),
                set(":path", "/", OVERWRITE),
            ],
            &["foo", "content-length"],
        )
    }
}

fn cleared_body() -> CommonResponse {
    CommonResponse {
        body_mutation: Some(BodyMutation {
            mutation: Some(Mutation::ClearBody(true)),
        }),
        ..CommonResponse::default()
    }
}

/// The seed's basic callout, phase by phase: `--example basic`, and the project's own callout
/// when it is `Basic`.
#[tokio::test]
async fn basic_answers_every_phase_with_its_own_reply() {
    for server in [
        start_with(&["--example=basic"]).await,
        start_with(&[]).await,
    ] {
        basic_phase_by_phase(&server).await;
    }
}

async fn basic_phase_by_phase(server: &str) {
    let mut exchange = Exchange::open(server).await;

    let phase = request_headers(&[("content-length", "5"), ("foo", "bar")]);
    let expected = continued(&phase, Some(basic_request_changes()));
    assert_eq!(exchange.send(phase).await, expected);

    let phase = Phase::RequestBody(body("hello"));
    let expected = continued(&phase, Some(replaced_body("replaced-body")));
    assert_eq!(exchange.send(phase).await, expected);

    // The trailer phases, which the seed could not answer, continue.
    exchange
        .expect_continue(Phase::RequestTrailers(trailers()))
        .await;

    let phase = response_headers(&[]);
    let expected = continued(
        &phase,
        Some(header_changes(
            vec![set("hello", "service-extensions", APPEND)],
            &["content-length"],
        )),
    );
    assert_eq!(exchange.send(phase).await, expected);

    let phase = Phase::ResponseBody(body("upstream"));
    let expected = continued(&phase, Some(cleared_body()));
    assert_eq!(exchange.send(phase).await, expected);

    exchange
        .expect_continue(Phase::ResponseTrailers(trailers()))
        .await;
}

fn chunk(text: &str, end_of_stream: bool) -> Phase {
    Phase::RequestBody(HttpBody {
        body: text.as_bytes().to_vec(),
        end_of_stream,
        ..HttpBody::default()
    })
}

/// The first message of a stream whose request body is sent in `mode`.
fn first_message(mode: BodySendMode, phase: Phase) -> ProcessingRequest {
    ProcessingRequest {
        request: Some(phase),
        protocol_config: Some(ProtocolConfiguration {
            request_body_mode: mode.into(),
            response_body_mode: mode.into(),
            ..ProtocolConfiguration::default()
        }),
        ..ProcessingRequest::default()
    }
}

fn streamed(text: &str, end_of_stream: bool) -> ProcessingResponse {
    continued(
        &chunk("", false),
        Some(CommonResponse {
            body_mutation: Some(BodyMutation {
                mutation: Some(Mutation::StreamedResponse(StreamedBodyResponse {
                    body: text.as_bytes().to_vec(),
                    end_of_stream,
                    ..StreamedBodyResponse::default()
                })),
            }),
            ..CommonResponse::default()
        }),
    )
}

/// Replacing the body replaces all of it: in STREAMED mode the later chunks are cleared, and in
/// FULL_DUPLEX_STREAMED the replacement goes as `streamed_response` chunks, the last one ending
/// the body.
#[tokio::test]
async fn a_replaced_body_is_the_whole_body_in_the_streamed_modes() {
    let server = start_with(&["--example=basic"]).await;

    let mut exchange = Exchange::open(&server).await;
    let message = first_message(BodySendMode::Streamed, request_headers(&[]));
    let reply = exchange.send_message(message).await.unwrap();
    assert_eq!(
        reply,
        continued(&request_headers(&[]), Some(basic_request_changes()))
    );
    let phase = chunk("one", false);
    let expected = continued(&phase, Some(replaced_body("replaced-body")));
    assert_eq!(exchange.send(phase).await, expected);
    let phase = chunk("two", true);
    assert_eq!(
        exchange.send(phase.clone()).await,
        continued(&phase, Some(cleared_body()))
    );

    let mut exchange = Exchange::open(&server).await;
    let message = first_message(BodySendMode::FullDuplexStreamed, request_headers(&[]));
    exchange.send_message(message).await.unwrap();
    assert_eq!(
        exchange.send(chunk("one", false)).await,
        streamed("replaced-body", false)
    );
    // Nothing for the middle chunk; the end of the body ends the replacement.
    exchange
        .messages
        .send(ProcessingRequest {
            request: Some(chunk("two", false)),
            ..ProcessingRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(
        exchange.send(chunk("three", true)).await,
        streamed("", true)
    );
}

/// A callout that holds each request chunk back until one says `send`.
struct Batches;

impl Callout for Batches {
    type State = ();

    async fn on_request_body(&self, body: &HttpBody, _cx: &mut Context<()>) -> BodyReply {
        if body.body.ends_with(b"send") {
            BodyReply::new()
        } else {
            BodyReply::hold()
        }
    }
}

#[tokio::test]
async fn full_duplex_chunks_can_be_held_and_released() {
    let server = start_callout(Batches).await;
    let mut exchange = Exchange::open(&server).await;
    let message = first_message(BodySendMode::FullDuplexStreamed, request_headers(&[]));
    exchange.send_message(message).await.unwrap();
    for text in ["a", "b"] {
        exchange
            .messages
            .send(ProcessingRequest {
                request: Some(chunk(text, false)),
                ..ProcessingRequest::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(
        exchange.send(chunk("-send", false)).await,
        streamed("ab-send", false)
    );
    exchange
        .messages
        .send(ProcessingRequest {
            request: Some(chunk("c", false)),
            ..ProcessingRequest::default()
        })
        .await
        .unwrap();
    // What is held goes before the trailers' answer.
    assert_eq!(
        exchange.send(Phase::RequestTrailers(trailers())).await,
        streamed("c", false)
    );
    let reply = exchange.replies.message().await.unwrap().unwrap();
    assert_eq!(reply, continued(&Phase::RequestTrailers(trailers()), None));
}

#[tokio::test]
async fn skip_response_body_overrides_the_mode_for_gets() {
    let server = start_with(&["--example=skip_response_body"]).await;
    let mut exchange = Exchange::open(&server).await;
    let phase = Phase::RequestHeaders(headers(&[(":method", "GET"), (":path", "/")]));
    let message = first_message(BodySendMode::Buffered, phase);
    let reply = exchange.send_message(message).await.unwrap();
    let mode = reply.mode_override.expect("a mode override");
    assert_eq!(mode.response_body_mode(), BodySendMode::None);
    assert_eq!(mode.request_body_mode(), BodySendMode::Buffered);

    let mut exchange = Exchange::open(&server).await;
    let reply = exchange.send(request_headers(&[])).await;
    assert_eq!(reply.mode_override, None, "a POST keeps its mode");
}

#[tokio::test]
async fn slow_lookup_asks_for_time_then_answers() {
    let server = start_with(&["--example=slow_lookup"]).await;
    let mut exchange = Exchange::open(&server).await;
    let extension = exchange.send(request_headers(&[])).await;
    assert_eq!(
        extension,
        ProcessingResponse {
            override_message_timeout: Some(Duration {
                seconds: 3,
                nanos: 0,
            }),
            ..ProcessingResponse::default()
        },
        "the extension goes alone"
    );
    let answer = exchange.replies.message().await.unwrap().unwrap();
    let expected = continued(
        &request_headers(&[]),
        Some(header_changes(
            vec![set("x-looked-up", "yes", OVERWRITE)],
            &[],
        )),
    );
    assert_eq!(answer, expected);
}

#[tokio::test]
async fn add_header_appends_in_both_directions() {
    let server = start_with(&["--example=add_header"]).await;
    let mut exchange = Exchange::open(&server).await;
    let phase = request_headers(&[]);
    let expected = continued(
        &phase,
        Some(header_changes(
            vec![set("add-header-request", "Value-request", APPEND)],
            &[],
        )),
    );
    assert_eq!(exchange.send(phase).await, expected);
    exchange
        .expect_continue(Phase::RequestBody(body("x")))
        .await;
    let phase = response_headers(&[]);
    let expected = continued(
        &phase,
        Some(header_changes(
            vec![set("add-header-response", "Value-response", APPEND)],
            &[],
        )),
    );
    assert_eq!(exchange.send(phase).await, expected);
    exchange
        .expect_continue(Phase::ResponseBody(body("x")))
        .await;
}

#[tokio::test]
async fn update_header_overwrites() {
    let server = start_with(&["--example=update_header"]).await;
    let mut exchange = Exchange::open(&server).await;
    let phase = request_headers(&[("header-request", "old")]);
    let expected = continued(
        &phase,
        Some(CommonResponse {
            clear_route_cache: true,
            ..header_changes(
                vec![set("header-request", "request-new-value", OVERWRITE)],
                &[],
            )
        }),
    );
    assert_eq!(exchange.send(phase).await, expected);
    let phase = response_headers(&[("header-response", "old")]);
    let expected = continued(
        &phase,
        Some(header_changes(
            vec![set("header-response", "response-new-value", OVERWRITE)],
            &[],
        )),
    );
    assert_eq!(exchange.send(phase).await, expected);
}

#[tokio::test]
async fn normalize_header_sets_the_device_type_from_the_host() {
    let server = start_with(&["--example=normalize_header"]).await;
    for (host, device) in [
        ("m.example.com", "mobile"),
        ("tablet.example.com", "tablet"),
        ("www.example.com", "desktop"),
    ] {
        let mut exchange = Exchange::open(&server).await;
        let phase = Phase::RequestHeaders(headers(&[
            (":authority", host),
            ("client-device-type", "forged"),
        ]));
        let expected = continued(
            &phase,
            Some(CommonResponse {
                clear_route_cache: true,
                ..header_changes(vec![set("client-device-type", device, OVERWRITE)], &[])
            }),
        );
        assert_eq!(exchange.send(phase).await, expected, "{host}");
        exchange.expect_continue(response_headers(&[])).await;
    }
}

#[tokio::test]
async fn add_body_replaces_both_bodies() {
    let server = start_with(&["--example=add_body"]).await;
    let mut exchange = Exchange::open(&server).await;
    let phase = request_headers(&[]);
    let expected = continued(&phase, Some(header_changes(vec![], &["content-length"])));
    assert_eq!(exchange.send(phase).await, expected);
    let phase = Phase::RequestBody(body("original"));
    let expected = continued(&phase, Some(replaced_body("new-body-request")));
    assert_eq!(exchange.send(phase).await, expected);
    let phase = response_headers(&[]);
    let expected = continued(&phase, Some(header_changes(vec![], &["content-length"])));
    assert_eq!(exchange.send(phase).await, expected);
    let phase = Phase::ResponseBody(body("original"));
    let expected = continued(&phase, Some(replaced_body("new-body-response")));
    assert_eq!(exchange.send(phase).await, expected);
}

#[tokio::test]
async fn add_custom_response_mocks_denies_and_passes() {
    let server = start_with(&["--example=add_custom_response"]).await;

    let mut exchange = Exchange::open(&server).await;
    let mocked = immediate(exchange.send(request_headers(&[("mock", "true")])).await);
    assert_eq!(mocked.status, status(200));
    assert_eq!(mocked.body, b"Mocked response\n");

    let mut exchange = Exchange::open(&server).await;
    let denied = immediate(exchange.send(request_headers(&[("deny", "true")])).await);
    assert_eq!(denied.status, status(403));
    assert_eq!(denied.body, b"denied by the callout\n");
    assert_eq!(denied.details, "denied by the callout");

    let mut exchange = Exchange::open(&server).await;
    exchange
        .expect_continue(request_headers(&[("deny", "false")]))
        .await;
    let denied = immediate(
        exchange
            .send(Phase::RequestBody(body("please deny me")))
            .await,
    );
    assert_eq!(denied.status, status(403));

    let mut exchange = Exchange::open(&server).await;
    exchange.expect_continue(request_headers(&[])).await;
    exchange
        .expect_continue(Phase::RequestBody(body("fine")))
        .await;
    exchange.expect_continue(response_headers(&[])).await;
    exchange
        .expect_continue(Phase::ResponseBody(body("deny is fine here")))
        .await;
}

#[tokio::test]
async fn redirect_answers_301_with_a_location() {
    let server = start_with(&["--example=redirect"]).await;
    let mut exchange = Exchange::open(&server).await;
    let redirected = immediate(exchange.send(request_headers(&[])).await);
    assert_eq!(redirected.status, status(301));
    assert_eq!(
        immediate_headers(&redirected),
        [(
            "location".to_owned(),
            "http://service-extensions.com/redirect".to_owned()
        )]
    );
}

#[tokio::test]
async fn set_cookie_keeps_state_per_request() {
    let server = start_with(&["--example=set_cookie"]).await;
    let cookie = set(
        "set-cookie",
        "session-seen=1; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax",
        APPEND,
    );

    // Two requests at once: each stream has its own state.
    let mut first = Exchange::open(&server).await;
    let mut second = Exchange::open(&server).await;
    first.expect_continue(request_headers(&[])).await;
    second
        .expect_continue(request_headers(&[("cookie", "theme=dark; session-seen=1")]))
        .await;

    let phase = response_headers(&[]);
    let expected = continued(&phase, Some(header_changes(vec![cookie], &[])));
    assert_eq!(first.send(phase).await, expected);
    second.expect_continue(response_headers(&[])).await;
}

#[tokio::test]
async fn dynamic_forwarding_selects_the_named_endpoint() {
    let server = start_with(&["--example=dynamic_forwarding"]).await;

    let mut exchange = Exchange::open(&server).await;
    let reply = exchange
        .send(request_headers(&[("x-select-endpoint", "10.1.2.3:8080")]))
        .await;
    assert!(
        matches!(reply.response, Some(Answer::RequestHeaders(_))),
        "{reply:?}"
    );
    let metadata = reply.dynamic_metadata.unwrap();
    let Some(Kind::StructValue(selected)) = &metadata.fields[DYNAMIC_FORWARDING_NAMESPACE].kind
    else {
        panic!("no selected endpoints in {metadata:?}");
    };
    assert_eq!(
        selected.fields["primary"].kind,
        Some(Kind::StringValue("10.1.2.3:8080".to_owned()))
    );

    let mut exchange = Exchange::open(&server).await;
    let refused = immediate(
        exchange
            .send(request_headers(&[("x-select-endpoint", "nowhere")]))
            .await,
    );
    assert_eq!(refused.status, status(400));

    let mut exchange = Exchange::open(&server).await;
    exchange.expect_continue(request_headers(&[])).await;
}

fn key_pair() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, public)
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn jwt_auth_passes_claims_upstream_and_refuses_bad_tokens() {
    let (private, public) = key_pair();
    let server = start_with(&["--example=jwt_auth", &format!("--public-key={public}")]).await;
    let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
    let sign = |claims: &serde_json::Value| {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
    };
    let exp = now() + 600;

    let token = sign(&json!({ "sub": "ada", "exp": exp, "https://x/roles": ["admin"] }));
    let mut exchange = Exchange::open(&server).await;
    let phase = request_headers(&[
        ("authorization", &format!("Bearer {token}")),
        ("decoded-sub", "forged"),
    ]);
    let expected = continued(
        &phase,
        Some(CommonResponse {
            clear_route_cache: true,
            ..header_changes(
                vec![
                    set("decoded-exp", &exp.to_string(), OVERWRITE),
                    set("decoded-https---x-roles", r#"["admin"]"#, OVERWRITE),
                    set("decoded-sub", "ada", OVERWRITE),
                ],
                &["authorization"],
            )
        }),
    );
    assert_eq!(exchange.send(phase).await, expected);

    let expired = sign(&json!({ "sub": "ada", "exp": now() - 600 }));
    for (authorization, reason) in [
        (String::new(), "token is missing"),
        ("Bearer not-a-jwt".to_owned(), "malformed"),
        (format!("Bearer {expired}"), "expired"),
    ] {
        let mut exchange = Exchange::open(&server).await;
        let refused = immediate(
            exchange
                .send(request_headers(&[("authorization", &authorization)]))
                .await,
        );
        assert_eq!(refused.status, status(401), "{authorization}");
        let body = String::from_utf8(refused.body).unwrap();
        assert!(body.contains(reason), "{reason}: {body}");
    }
}

#[tokio::test]
async fn jwt_auth_without_a_key_is_refused_at_startup() {
    let err = services(&["--example=jwt_auth"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the jwt_auth example needs PUBLIC_KEY or PUBLIC_KEY_FILE"
    );
}

#[tokio::test]
async fn observability_mode_gets_no_replies() {
    let counter = Observability::default();
    let serving = counter.clone();
    let server = start_callout(serving).await;
    let exchange = Exchange::open(&server).await;
    for phase in [
        request_headers(&[]),
        Phase::RequestBody(body("x")),
        response_headers(&[]),
    ] {
        let message = ProcessingRequest {
            request: Some(phase),
            observability_mode: true,
            ..ProcessingRequest::default()
        };
        exchange.messages.send(message).await.unwrap();
    }
    // Ending the stream ends the server's side, with nothing sent.
    let Exchange {
        messages,
        mut replies,
    } = exchange;
    drop(messages);
    assert_eq!(replies.message().await.unwrap(), None);
    assert_eq!(counter.counts(), (1, 3));
}

#[tokio::test]
async fn a_message_without_a_phase_fails_only_its_stream() {
    let server = start_with(&["--example=basic"]).await;
    let mut broken = Exchange::open(&server).await;
    let err = broken
        .send_message(ProcessingRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut exchange = Exchange::open(&server).await;
    let reply = exchange.send(request_headers(&[])).await;
    assert!(matches!(reply.response, Some(Answer::RequestHeaders(_))));
}

/// A callout that panics on requests that ask it to.
struct Panics;

impl Callout for Panics {
    type State = ();

    async fn on_request_headers(
        &self,
        headers: &HttpHeaders,
        _cx: &mut Context<()>,
    ) -> HeadersReply {
        let asks = headers
            .headers
            .iter()
            .flat_map(|map| &map.headers)
            .any(|header| header.key == "panic");
        assert!(!asks, "asked to panic");
        HeadersReply::new()
    }
}

#[tokio::test]
async fn a_panicking_callout_fails_only_its_stream() {
    let server = start_callout(Panics).await;
    let mut open = Exchange::open(&server).await;
    let mut broken = Exchange::open(&server).await;
    let message = ProcessingRequest {
        request: Some(request_headers(&[("panic", "yes")])),
        ..ProcessingRequest::default()
    };
    let err = broken.send_message(message).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    // A stream opened before the panic, on the same connection pool, goes on.
    open.expect_continue(request_headers(&[])).await;
}

/// The protos of reflection, against the wire that envoy-types encodes.
mod wire {
    use super::*;

    const REQUEST: &str = "envoy.service.ext_proc.v3.ProcessingRequest";
    const RESPONSE: &str = "envoy.service.ext_proc.v3.ProcessingResponse";

    fn header(key: &str, raw_value: &str) -> HeaderValue {
        HeaderValue {
            key: key.to_owned(),
            raw_value: raw_value.as_bytes().to_vec(),
            ..HeaderValue::default()
        }
    }

    #[test]
    fn request_headers_with_their_context() {
        let request = ProcessingRequest {
            request: Some(Phase::RequestHeaders(HttpHeaders {
                headers: Some(HeaderMap {
                    headers: vec![header(":path", "/items")],
                }),
                end_of_stream: true,
                ..HttpHeaders::default()
            })),
            metadata_context: Some(Metadata {
                filter_metadata: [("ns".to_owned(), nested("route", "name", "items"))].into(),
                ..Metadata::default()
            }),
            attributes: [(
                "envoy.filters.http.ext_proc".to_owned(),
                nested("request", "path", "/items"),
            )]
            .into(),
            observability_mode: true,
            protocol_config: Some(ProtocolConfiguration {
                request_body_mode: BodySendMode::Streamed.into(),
                response_body_mode: BodySendMode::FullDuplexStreamed.into(),
                send_body_without_waiting_for_header_response: true,
            }),
            ..ProcessingRequest::default()
        };
        let decoded = decode(FILE_DESCRIPTOR_SET, REQUEST, &request);
        for (path, expected) in [
            ("request_headers/headers/headers/0/key", ":path"),
            ("request_headers/headers/headers/0/raw_value", "/items"),
            ("request_headers/end_of_stream", "true"),
            (
                "metadata_context/filter_metadata/ns/fields/route/struct_value/fields/name/string_value",
                "items",
            ),
            (
                "attributes/envoy.filters.http.ext_proc/fields/request/struct_value/fields/path/string_value",
                "/items",
            ),
            ("observability_mode", "true"),
            ("protocol_config/request_body_mode", "STREAMED"),
            ("protocol_config/response_body_mode", "FULL_DUPLEX_STREAMED"),
            (
                "protocol_config/send_body_without_waiting_for_header_response",
                "true",
            ),
        ] {
            assert_eq!(at(&decoded, path), expected, "{path}");
        }
    }

    #[test]
    fn bodies_and_trailers_of_both_directions() {
        for (phase, path, expected) in [
            (Phase::RequestBody(body("up")), "request_body/body", "up"),
            (
                Phase::ResponseBody(body("down")),
                "response_body/body",
                "down",
            ),
            (
                Phase::RequestTrailers(trailers("up")),
                "request_trailers/trailers/headers/0/raw_value",
                "up",
            ),
            (
                Phase::ResponseTrailers(trailers("down")),
                "response_trailers/trailers/headers/0/raw_value",
                "down",
            ),
        ] {
            let request = ProcessingRequest {
                request: Some(phase),
                ..ProcessingRequest::default()
            };
            let decoded = decode(FILE_DESCRIPTOR_SET, REQUEST, &request);
            assert_eq!(at(&decoded, path), expected, "{path}");
            if let Some(body) = path.strip_suffix("/body") {
                assert_eq!(at(&decoded, &format!("{body}/end_of_stream")), "true");
            }
        }
    }

    fn body(text: &str) -> HttpBody {
        HttpBody {
            body: text.as_bytes().to_vec(),
            end_of_stream: true,
            ..HttpBody::default()
        }
    }

    fn trailers(value: &str) -> HttpTrailers {
        HttpTrailers {
            trailers: Some(HeaderMap {
                headers: vec![header("x-trailer", value)],
            }),
        }
    }

    #[test]
    fn a_headers_reply_with_everything_beside_it() {
        let response = ProcessingResponse {
            response: Some(Answer::ResponseHeaders(HeadersResponse {
                response: Some(CommonResponse {
                    status: ResponseStatus::ContinueAndReplace.into(),
                    header_mutation: Some(HeaderMutation {
                        set_headers: vec![HeaderValueOption {
                            header: Some(header("x-added", "yes")),
                            append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
                            keep_empty_value: true,
                            ..HeaderValueOption::default()
                        }],
                        remove_headers: vec!["foo".to_owned()],
                    }),
                    body_mutation: Some(BodyMutation {
                        mutation: Some(Mutation::Body(b"new body".to_vec())),
                    }),
                    trailers: Some(HeaderMap {
                        headers: vec![header("x-trailer", "t")],
                    }),
                    clear_route_cache: true,
                }),
            })),
            dynamic_metadata: Some(nested("callout", "user", "alice")),
            mode_override: Some(ProcessingMode {
                response_body_mode: BodySendMode::Buffered.into(),
                response_trailer_mode: HeaderSendMode::Skip.into(),
                ..ProcessingMode::default()
            }),
            override_message_timeout: Some(Duration {
                seconds: 5,
                nanos: 0,
            }),
            ..ProcessingResponse::default()
        };
        let decoded = decode(FILE_DESCRIPTOR_SET, RESPONSE, &response);
        let common = "response_headers/response";
        for (path, expected) in [
            (format!("{common}/status"), "CONTINUE_AND_REPLACE"),
            (
                format!("{common}/header_mutation/set_headers/0/header/key"),
                "x-added",
            ),
            (
                format!("{common}/header_mutation/set_headers/0/header/raw_value"),
                "yes",
            ),
            (
                format!("{common}/header_mutation/set_headers/0/append_action"),
                "OVERWRITE_IF_EXISTS_OR_ADD",
            ),
            (
                format!("{common}/header_mutation/set_headers/0/keep_empty_value"),
                "true",
            ),
            (format!("{common}/header_mutation/remove_headers/0"), "foo"),
            (format!("{common}/body_mutation/body"), "new body"),
            (format!("{common}/trailers/headers/0/key"), "x-trailer"),
            (format!("{common}/clear_route_cache"), "true"),
            (
                "dynamic_metadata/fields/callout/struct_value/fields/user/string_value".to_owned(),
                "alice",
            ),
            ("mode_override/response_body_mode".to_owned(), "BUFFERED"),
            ("mode_override/response_trailer_mode".to_owned(), "SKIP"),
            ("mode_override/request_header_mode".to_owned(), "DEFAULT"),
            ("override_message_timeout/seconds".to_owned(), "5"),
        ] {
            assert_eq!(at(&decoded, &path), expected, "{path}");
        }
    }

    #[test]
    fn streamed_body_and_trailer_replies() {
        let streamed = ProcessingResponse {
            response: Some(Answer::RequestBody(BodyResponse {
                response: Some(CommonResponse {
                    body_mutation: Some(BodyMutation {
                        mutation: Some(Mutation::StreamedResponse(StreamedBodyResponse {
                            body: b"chunk".to_vec(),
                            end_of_stream: true,
                            ..StreamedBodyResponse::default()
                        })),
                    }),
                    ..CommonResponse::default()
                }),
            })),
            ..ProcessingResponse::default()
        };
        let decoded = decode(FILE_DESCRIPTOR_SET, RESPONSE, &streamed);
        let chunk = "request_body/response/body_mutation/streamed_response";
        assert_eq!(at(&decoded, &format!("{chunk}/body")), "chunk");
        assert_eq!(at(&decoded, &format!("{chunk}/end_of_stream")), "true");

        let trailers = ProcessingResponse {
            response: Some(Answer::ResponseTrailers(TrailersResponse {
                header_mutation: Some(HeaderMutation {
                    remove_headers: vec!["grpc-message".to_owned()],
                    ..HeaderMutation::default()
                }),
            })),
            ..ProcessingResponse::default()
        };
        let decoded = decode(FILE_DESCRIPTOR_SET, RESPONSE, &trailers);
        assert_eq!(
            at(
                &decoded,
                "response_trailers/header_mutation/remove_headers/0"
            ),
            "grpc-message"
        );
    }

    #[test]
    fn an_immediate_response() {
        let response = ProcessingResponse {
            response: Some(Answer::ImmediateResponse(ImmediateResponse {
                status: Some(HttpStatus {
                    code: StatusCode::Forbidden.into(),
                }),
                headers: Some(HeaderMutation {
                    set_headers: vec![HeaderValueOption {
                        header: Some(header("content-type", "text/plain")),
                        ..HeaderValueOption::default()
                    }],
                    ..HeaderMutation::default()
                }),
                body: b"denied".to_vec(),
                grpc_status: Some(GrpcStatus { status: 7 }),
                details: "no token".to_owned(),
            })),
            ..ProcessingResponse::default()
        };
        let decoded = decode(FILE_DESCRIPTOR_SET, RESPONSE, &response);
        for (path, expected) in [
            ("immediate_response/status/code", "Forbidden"),
            (
                "immediate_response/headers/set_headers/0/header/key",
                "content-type",
            ),
            (
                "immediate_response/headers/set_headers/0/append_action",
                "APPEND_IF_EXISTS_OR_ADD",
            ),
            ("immediate_response/body", "denied"),
            ("immediate_response/grpc_status/status", "7"),
            ("immediate_response/details", "no token"),
        ] {
            assert_eq!(at(&decoded, path), expected, "{path}");
        }
    }
}
