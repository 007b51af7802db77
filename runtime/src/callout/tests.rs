//! The callout's listeners: its two health reports and its drain, and the configurations that
//! it refuses.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::ListenArgs;
use crate::server::{self, Bind as _, ServerArgs, Services};

fn args(flags: &[&str]) -> ServerArgs<ListenArgs> {
    ServerArgs::parse_from(std::iter::once("test").chain(flags.iter().copied()))
}

async fn http_health(address: SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /any/path HTTP/1.1\r\nhost: health\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn health_reports_serving_then_not_serving_while_draining() {
    let args = args(&[
        "--plaintext-listen=127.0.0.1:0",
        "--tls-listen=off",
        "--health-listen=127.0.0.1:0",
    ]);
    let listeners = args.listen.bind().await.unwrap();
    let grpc = listeners.grpc[0].listener.local_addr().unwrap();
    let health = listeners.admin.as_ref().unwrap().local_addr().unwrap();
    let (stop, stopping) = oneshot::channel::<()>();
    let stopped = tokio::spawn(async move {
        let shutdown = async {
            stopping.await.ok();
            Duration::ZERO
        };
        server::serve(listeners, &args, Services::default(), shutdown).await
    });

    assert!(
        http_health(health).await.starts_with("HTTP/1.1 200 OK\r\n"),
        "not ready"
    );
    let channel = Channel::from_shared(format!("http://{grpc}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let checked = client.check(HealthCheckRequest::default()).await.unwrap();
    assert_eq!(checked.into_inner().status, 1, "SERVING");

    // A watcher sees the change, and its open stream keeps the server draining until it ends.
    let mut watch = client
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, 1, "SERVING");
    stop.send(()).unwrap();
    let status = watch.message().await.unwrap().unwrap().status;
    assert_eq!(status, 2, "NOT_SERVING");
    let unready = http_health(health).await;
    assert!(
        unready.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{unready}"
    );
    drop(watch);
    drop(client);
    stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_config_without_a_grpc_listener_is_refused() {
    let args = args(&[
        "--plaintext-listen=off",
        "--tls-listen=off",
        "--health-listen=off",
    ]);
    let err = args.listen.bind().await.unwrap_err();
    assert!(err.to_string().starts_with("no gRPC listener"), "{err}");
}

#[tokio::test]
async fn a_missing_certificate_is_named() {
    let args = args(&[
        "--plaintext-listen=off",
        "--tls-listen=127.0.0.1:0",
        "--health-listen=off",
        "--tls-cert=missing/server.pem",
    ]);
    let err = args.listen.bind().await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`missing/server.pem`"), "{message}");
    assert!(message.contains("make certs"), "{message}");
}
