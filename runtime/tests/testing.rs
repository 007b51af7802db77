//! The `testing` feature through its public API, against `test.Echo`: a unary RPC that answers,
//! one left to its stub (UNIMPLEMENTED, with a message), and a stream that never ends; and
//! against services, RPCs and health that are not there, which each check must catch.

use std::convert::Infallible;
use std::task::{Context, Poll};

use clap::Parser as _;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use grpc_scaffold_runtime::server::{ServerArgs, Services};
use grpc_scaffold_runtime::testing::{self, Api};
use prost_reflect::prost::Message as _;
use prost_reflect::prost_types::{
    DescriptorProto, FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto,
    ServiceDescriptorProto,
};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::transport::Channel;
use tonic_prost::ProstCodec;
use tower::Service;

/// `test.Echo`, as tonic's generated code would route it.
#[derive(Clone)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

impl UnaryService<()> for Echo {
    type Response = ();
    type Future = BoxFuture<'static, Result<tonic::Response<()>, Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        Box::pin(async { Ok(tonic::Response::new(())) })
    }
}

impl ServerStreamingService<()> for Echo {
    type Response = ();
    type ResponseStream = BoxStream<'static, Result<(), Status>>;
    type Future = BoxFuture<'static, Result<tonic::Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        Box::pin(async { Ok(tonic::Response::new(Box::pin(stream::pending()) as _)) })
    }
}

impl Service<Request<Body>> for Echo {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let mut grpc = Grpc::new(ProstCodec::<(), ()>::default());
        Box::pin(async move {
            Ok(match request.uri().path() {
                "/test.Echo/Say" => grpc.unary(Echo, request).await,
                "/test.Echo/Watch" => grpc.server_streaming(Echo, request).await,
                // What a generated service answers for an RPC without a handler.
                "/test.Echo/Stub" => Status::unimplemented("Not yet implemented").into_http(),
                // And for a path it does not know.
                _ => Status::unimplemented("").into_http(),
            })
        })
    }
}

/// `test.Echo`'s descriptors, for reflection.
fn descriptors() -> &'static [u8] {
    let method = |name: &str, server_streaming| MethodDescriptorProto {
        name: Some(name.into()),
        input_type: Some(".test.Empty".into()),
        output_type: Some(".test.Empty".into()),
        server_streaming: Some(server_streaming),
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("test/echo.proto".into()),
        package: Some("test".into()),
        message_type: vec![DescriptorProto {
            name: Some("Empty".into()),
            ..Default::default()
        }],
        service: vec![ServiceDescriptorProto {
            name: Some("Echo".into()),
            method: vec![
                method("Say", false),
                method("Stub", false),
                method("Watch", true),
            ],
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    let set = FileDescriptorSet { file: vec![file] };
    Box::leak(set.encode_to_vec().into_boxed_slice())
}

const ECHO: &Api = &[("test.Echo", &["Say", "Stub", "Watch"])];

/// A channel to a server of `test.Echo`, described in reflection unless `described` is false.
async fn start(described: bool) -> Channel {
    let args: ServerArgs = ServerArgs::parse_from(["test", "--metrics=false"]);
    let mut services = Services::default();
    services.add(Echo);
    if described {
        services.describe(descriptors());
    }
    testing::serve(&args, services).await.unwrap()
}

#[tokio::test]
async fn a_served_api_passes_every_check() {
    let channel = start(true).await;
    testing::assert_serving(channel.clone(), ECHO).await;
    testing::assert_listed(channel.clone(), ECHO).await;
    testing::assert_routed(channel, ECHO).await;
}

#[tokio::test]
#[should_panic(expected = "test.Missing has no health")]
async fn a_service_not_served_has_no_health() {
    let api: &Api = &[("test.Echo", &[]), ("test.Missing", &[])];
    testing::assert_serving(start(true).await, api).await;
}

#[tokio::test]
#[should_panic(expected = "test.Echo is not listed")]
async fn a_service_not_described_is_not_listed() {
    testing::assert_listed(start(false).await, ECHO).await;
}

#[tokio::test]
#[should_panic(expected = "/test.Echo/Gone is not routed")]
async fn an_rpc_the_service_does_not_know_is_not_routed() {
    let api: &Api = &[("test.Echo", &["Say", "Gone"])];
    testing::assert_routed(start(true).await, api).await;
}

#[tokio::test]
#[should_panic(expected = "/test.Missing/Say is not routed")]
async fn an_rpc_of_a_service_not_served_is_not_routed() {
    let api: &Api = &[("test.Missing", &["Say"])];
    testing::assert_routed(start(true).await, api).await;
}
