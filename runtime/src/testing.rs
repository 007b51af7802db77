//! Checks for a project's own tests, true whatever its handlers do: [`serve`] its services on a
//! free loopback port, then check that health reports every service SERVING
//! ([`assert_serving`]), that reflection lists every one ([`assert_listed`]), and that every RPC
//! reaches a handler ([`assert_routed`]).
//!
//! ```no_run
//! use clap::Parser as _;
//! use grpc_scaffold_runtime::server::{ServerArgs, Services};
//! use grpc_scaffold_runtime::testing::{self, Api};
//!
//! /// Each service by its full name, with its RPCs.
//! const API: &Api = &[("shop.v1.Orders", &["Get", "Watch"])];
//!
//! # async fn run() {
//! let args: ServerArgs = ServerArgs::parse_from(["test"]);
//! let services = Services::default(); // the project's services
//! let channel = testing::serve(&args, services).await.unwrap();
//! testing::assert_serving(channel.clone(), API).await;
//! testing::assert_listed(channel.clone(), API).await;
//! testing::assert_routed(channel, API).await;
//! # }
//! ```

use tokio::net::TcpListener;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_prost::ProstCodec;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::server::{self, Bind, ServerArgs, Services};

/// An API: each service by its full name (`package.Service`), with the names of its RPCs
/// (`GetItem`, as the proto spells it).
pub type Api = [(&'static str, &'static [&'static str])];

/// Serve `services` with `args` on a free port of 127.0.0.1, plaintext and without an admin
/// listener, until the test's runtime ends; a channel to it.
pub async fn serve<L>(args: &ServerArgs<L>, services: Services) -> anyhow::Result<Channel>
where
    L: clap::Args + Bind + Clone + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let args = args.clone();
    tokio::spawn(async move {
        let forever = std::future::pending();
        server::serve(listener.into(), &args, services, forever).await
    });
    Ok(Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?)
}

/// Assert that the health service reports every service of `api` SERVING.
pub async fn assert_serving(channel: Channel, api: &Api) {
    let mut health = HealthClient::new(channel);
    for (service, _) in api {
        let request = HealthCheckRequest {
            service: (*service).to_owned(),
        };
        match health.check(request).await {
            Ok(reply) => {
                let status = reply.into_inner().status();
                assert_eq!(status, ServingStatus::Serving, "{service}");
            }
            Err(status) => panic!("{service} has no health: {status:?}"),
        }
    }
}

/// Assert that reflection (v1) lists every service of `api`.
pub async fn assert_listed(channel: Channel, api: &Api) {
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(futures_util::stream::iter([request]))
        .await
        .expect("reflection refused the call")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("reflection failed")
        .expect("reflection did not answer");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a list of services: {reply:?}");
    };
    let listed: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for (service, _) in api {
        assert!(
            listed.iter().any(|name| name == service),
            "{service} is not listed: {listed:?}"
        );
    }
}

/// Assert that every RPC of `api` is routed: it answers anything but the bare UNIMPLEMENTED
/// (with no message) that tonic gives a path it does not know. Each RPC gets one empty
/// message, which every request type decodes, of whatever shape the RPC is.
pub async fn assert_routed(channel: Channel, api: &Api) {
    let mut grpc = tonic::client::Grpc::new(channel);
    for (service, rpcs) in api {
        for rpc in *rpcs {
            let path = format!("/{service}/{rpc}");
            grpc.ready().await.expect("the channel failed");
            let request = tonic::Request::new(futures_util::stream::iter([()]));
            let uri = PathAndQuery::try_from(path.as_str()).expect("an RPC path");
            let codec = ProstCodec::<(), ()>::default();
            if let Err(status) = grpc.streaming(request, uri, codec).await {
                let unknown = status.code() == Code::Unimplemented && status.message().is_empty();
                assert!(!unknown, "{path} is not routed: {status:?}");
            }
        }
    }
}
