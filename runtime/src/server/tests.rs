//! The layer around every call, run through tonic's transport `Server` as the binary runs it:
//! deadlines that pass while every turn is taken, with both cores loaded, and clients that reset
//! their streams mid-call, each read back from `/metrics`. The client is hyper's: tonic's own
//! keeps a `grpc-timeout` timer too, and answers itself when it fires.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use clap::Parser as _;
use futures_util::future::BoxFuture;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tonic::body::Body;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::http::{Request, Response};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use tower::Service;

use super::{GrpcListener, ListenArgs, Listeners, Server, ServerArgs, Services};

/// Calls of the 1 ns deadline, per run, for the race with tonic's own timer to show if it is
/// there.
const REPEATS: usize = 500;

/// An HTTP/2 client of the server.
type Channel = tonic::client::Grpc<Client<HttpConnector, Body>>;

/// `test.Gate`: each call says it has arrived, then waits until the gate opens.
#[derive(Clone)]
struct Gate {
    arrived: Arc<Semaphore>,
    open: Arc<Semaphore>,
}

impl NamedService for Gate {
    const NAME: &'static str = "test.Gate";
}

impl UnaryService<()> for Gate {
    type Response = ();
    type Future = BoxFuture<'static, Result<tonic::Response<()>, Status>>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        let gate = self.clone();
        Box::pin(async move {
            gate.arrived.add_permits(1);
            // The gate opens by closing its semaphore.
            let _ = gate.open.acquire().await;
            Ok(tonic::Response::new(()))
        })
    }
}

impl Service<Request<Body>> for Gate {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let gate = self.clone();
        Box::pin(async move { Ok(Grpc::new(ProstCodec::default()).unary(gate, request).await) })
    }
}

/// A server of `test.Gate` on free ports, with `flags`.
struct Running {
    channel: Channel,
    admin: SocketAddr,
    gate: Gate,
}

async fn start(flags: &[&str]) -> Running {
    start_with(flags, |server| server).await
}

/// A server as [`start`] makes it, with what `build` adds to it: a project's own layers and
/// admin routes.
async fn start_with(
    flags: &[&str],
    build: impl FnOnce(Server<'_>) -> Server<'_> + Send + 'static,
) -> Running {
    let args = ServerArgs::<ListenArgs>::parse_from(["server"].iter().chain(flags));
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = grpc.local_addr().unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_address = admin.local_addr().unwrap();
    let listeners = Listeners {
        grpc: vec![GrpcListener {
            listener: grpc,
            tls: None,
        }],
        admin: Some(admin),
        ready_on_any_path: false,
    };
    let gate = Gate {
        arrived: Arc::new(Semaphore::new(0)),
        open: Arc::new(Semaphore::new(0)),
    };
    let mut services = Services::default();
    services.add(gate.clone());
    tokio::spawn(async move {
        build(Server::new(&args))
            .serve_on(listeners, services, std::future::pending())
            .await
    });
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let channel = Channel::with_origin(client, format!("http://{address}").parse().unwrap());
    Running {
        channel,
        admin: admin_address,
        gate,
    }
}

/// Call `test.Gate/<method>` with `grpc-timeout: <timeout>`; the status code of the answer.
async fn call(mut grpc: Channel, method: &'static str, timeout: Option<&'static str>) -> Code {
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    if let Some(timeout) = timeout {
        request
            .metadata_mut()
            .insert("grpc-timeout", timeout.parse().unwrap());
    }
    let path = PathAndQuery::try_from(format!("/test.Gate/{method}")).unwrap();
    let answer = grpc
        .unary::<(), (), _>(request, path, ProstCodec::default())
        .await;
    answer.map_or_else(|status| status.code(), |_| Code::Ok)
}

/// The value of a series of `test.Gate/<method>` on `/metrics`: `name`, with `code` if given.
async fn metric(admin: SocketAddr, name: &str, method: &str, code: Option<&str>) -> f64 {
    let mut stream = TcpStream::connect(admin).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let code = code
        .map(|code| format!(",grpc_code=\"{code}\""))
        .unwrap_or_default();
    let labels = format!(r#"grpc_service="test.Gate",grpc_method="{method}"{code}"#);
    let series = [name, "{", &labels, "} "].concat();
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// Wait, for at most 10 s, until `series` reads `wanted`; what it reads last.
async fn settled(admin: SocketAddr, series: (&str, &str, Option<&str>), wanted: f64) -> f64 {
    let (name, method, code) = series;
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let value = metric(admin, name, method, code).await;
        if value == wanted || Instant::now() > until {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Threads that keep both cores busy until dropped.
struct Load(Arc<AtomicBool>);

impl Load {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        for _ in 0..2 {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        Self(stop)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// [`REPEATS`] calls of a 1 ns deadline, 16 at a time, with both cores loaded: each must answer
/// `DEADLINE_EXCEEDED`.
async fn one_nanosecond_deadlines(channel: &Channel) {
    let _load = Load::start();
    let mut calls = JoinSet::new();
    let mut codes = Vec::new();
    for _ in 0..REPEATS {
        if calls.len() == 16 {
            codes.push(calls.join_next().await.unwrap().unwrap());
        }
        calls.spawn(call(channel.clone(), "Nanosecond", Some("1n")));
    }
    codes.extend(calls.join_all().await);
    let others: Vec<_> = codes
        .iter()
        .filter(|code| **code != Code::DeadlineExceeded)
        .collect();
    assert!(
        others.is_empty(),
        "{} of {REPEATS}: {others:?}",
        others.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_deadline_is_deadline_exceeded_even_while_waiting_for_a_turn() {
    let server = start(&["--max-concurrent-calls=2", "--max-queue-wait-ms=300"]).await;
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(call(server.channel.clone(), "Hold", None)))
        .collect();
    server.gate.arrived.acquire_many(2).await.unwrap().forget();

    // Every turn is taken.
    for timeout in ["1n", "1m", "50m"] {
        let code = call(server.channel.clone(), "Deadline", Some(timeout)).await;
        assert_eq!(code, Code::DeadlineExceeded, "grpc-timeout: {timeout}");
    }
    let code = call(server.channel.clone(), "Queued", None).await;
    assert_eq!(
        code,
        Code::ResourceExhausted,
        "no deadline: the queue's limit"
    );
    one_nanosecond_deadlines(&server.channel).await;

    // Every turn is free.
    server.gate.open.close();
    for held in held {
        assert_eq!(held.await.unwrap(), Code::Ok);
    }
    one_nanosecond_deadlines(&server.channel).await;

    for method in ["Hold", "Deadline", "Queued", "Nanosecond"] {
        let in_flight = settled(server.admin, ("grpc_server_in_flight", method, None), 0.0).await;
        assert_eq!(in_flight, 0.0, "{method}");
    }
    let exceeded = (
        "grpc_server_handled_total",
        "Nanosecond",
        Some("DeadlineExceeded"),
    );
    let count = 2.0 * REPEATS as f64;
    assert_eq!(settled(server.admin, exceeded, count).await, count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_reset_by_its_client_is_counted_as_cancelled() {
    let server = start(&[]).await;
    for _ in 0..100 {
        let reset = tokio::spawn(call(server.channel.clone(), "Reset", None));
        server.gate.arrived.acquire().await.unwrap().forget();
        // Dropping the call resets its stream.
        reset.abort();
        assert!(reset.await.unwrap_err().is_cancelled());
    }
    let cancelled = ("grpc_server_handled_total", "Reset", Some("Cancelled"));
    assert_eq!(settled(server.admin, cancelled, 100.0).await, 100.0);
    let in_flight = ("grpc_server_in_flight", "Reset", None);
    assert_eq!(settled(server.admin, in_flight, 0.0).await, 0.0);
}

/// A project adds a tower layer that every call goes through, and admin routes beside the
/// runtime's own, without a change to the runtime.
#[tokio::test]
async fn a_projects_own_layer_and_admin_routes_are_served() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let running = start_with(&[], move |server| {
        let layer = axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                counted.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        );
        let routes =
            axum::Router::new().route("/team", axum::routing::get(|| async { "payments" }));
        server.layer(layer).admin_routes(routes)
    })
    .await;
    running.gate.open.close();
    assert_eq!(call(running.channel.clone(), "Pass", None).await, Code::Ok);
    assert_eq!(call(running.channel, "Pass", None).await, Code::Ok);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let mut stream = TcpStream::connect(running.admin).await.unwrap();
    stream
        .write_all(b"GET /team HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("payments"), "{text}");
}
