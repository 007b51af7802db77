//! The gRPC server around a project's services: its listeners, TLS and mutual TLS, message-size
//! limits, health and reflection, the layer around every call ([`CallsLayer`]: deadlines,
//! concurrency, panics, metrics, traces), HTTP/2 keepalive and connection age, the admin HTTP
//! listener (metrics and probes), and a drain that Kubernetes does not cut short. Configured
//! from flags or environment variables ([`ServerArgs`]).
//!
//! ```no_run
//! use clap::Parser as _;
//! use grpc_scaffold_runtime::server::{Server, ServerArgs, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let args: ServerArgs = ServerArgs::parse();
//! let services = Services::default(); // add the project's services here
//! Server::new(&args).serve(services).await
//! # }
//! ```

mod admin;
mod calls;
mod listen;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::codegen::http::{Request, Response};
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server as TonicServer, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

pub use calls::{CallLimits, CallsLayer};
pub use listen::{Bind, ListenArgs};

use crate::telemetry::{self, LogFormat};

/// How the server listens (`L`: [`ListenArgs`] unless the kind has listeners of its own),
/// what it accepts, and how it shuts down. A project flattens it into its own settings, and may
/// change a default there with clap's `mut_arg`, as `#[command(mut_arg("max_call_secs", |arg|
/// arg.default_value("0")))]`.
#[derive(Debug, Clone, clap::Parser)]
pub struct ServerArgs<L: clap::Args = ListenArgs> {
    /// Where the server listens.
    #[command(flatten)]
    pub listen: L,

    /// Largest message received and sent, in MiB, unless one of the two below is set
    #[arg(long, env = "MAX_MSG_SIZE_MB", default_value_t = 4)]
    pub max_msg_size_mb: usize,

    /// Largest message received, in MiB (default: MAX_MSG_SIZE_MB)
    #[arg(long, env = "MAX_RECV_MSG_SIZE_MB")]
    pub max_recv_msg_size_mb: Option<usize>,

    /// Largest message sent, in MiB (default: MAX_MSG_SIZE_MB)
    #[arg(long, env = "MAX_SEND_MSG_SIZE_MB")]
    pub max_send_msg_size_mb: Option<usize>,

    /// Longest a handler may take to answer or to start a stream, in seconds, whatever the
    /// client's deadline; 0 for no maximum
    #[arg(long, env = "MAX_CALL_SECS", default_value_t = 30)]
    pub max_call_secs: u64,

    /// Calls handled at once, over all connections, until their response headers go out; more
    /// wait their turn (health checks never do)
    #[arg(long, env = "MAX_CONCURRENT_CALLS", default_value_t = 32)]
    pub max_concurrent_calls: usize,

    /// Milliseconds a call may wait for its turn, within its deadline, before it gets
    /// RESOURCE_EXHAUSTED
    #[arg(long, env = "MAX_QUEUE_WAIT_MS", default_value_t = 1000)]
    pub max_queue_wait_ms: u64,

    /// Streams that one HTTP/2 connection may have open at once
    #[arg(long, env = "MAX_CONCURRENT_STREAMS", default_value_t = 200)]
    pub max_concurrent_streams: u32,

    /// Seconds after which a client is asked to reconnect, so that a long-lived connection
    /// moves to new servers as they come; 0 for never
    #[arg(long, env = "MAX_CONNECTION_AGE_SECS", default_value_t = 300)]
    pub max_connection_age_secs: u64,

    /// Seconds that calls on a connection past its age get to finish
    #[arg(long, env = "MAX_CONNECTION_AGE_GRACE_SECS", default_value_t = 30)]
    pub max_connection_age_grace_secs: u64,

    /// Seconds between HTTP/2 pings on an idle connection, to find dead peers
    #[arg(long, env = "KEEPALIVE_SECS", default_value_t = 60)]
    pub keepalive_secs: u64,

    /// Seconds to keep serving after SIGTERM, reporting NOT_SERVING, so that load balancers
    /// stop sending calls before the server stops accepting them
    #[arg(long, env = "DRAIN_DELAY_SECS", default_value_t = 5)]
    pub drain_delay_secs: u64,

    /// Seconds that in-flight calls get to finish once the server stops accepting
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Count calls and serve them at `GET /metrics` on the admin listener; `false` for no metrics
    #[arg(long, env = "METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,

    /// Log format; the level comes from RUST_LOG (default `info`)
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: LogFormat,
}

/// Message-size limits in bytes, for each service's `max_decoding_message_size` and
/// `max_encoding_message_size`.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits {
    /// The largest message a client may send.
    pub receive: usize,
    /// The largest message the server may answer with.
    pub send: usize,
}

impl<L: clap::Args> ServerArgs<L> {
    /// The message-size limits in bytes.
    pub fn message_limits(&self) -> MessageLimits {
        let bytes = |mib: Option<usize>| {
            mib.unwrap_or(self.max_msg_size_mb)
                .saturating_mul(1024 * 1024)
        };
        MessageLimits {
            receive: bytes(self.max_recv_msg_size_mb),
            send: bytes(self.max_send_msg_size_mb),
        }
    }

    /// The limits that every call is held to.
    fn call_limits(&self) -> CallLimits {
        CallLimits {
            max_call: (self.max_call_secs > 0).then(|| Duration::from_secs(self.max_call_secs)),
            max_concurrent: self.max_concurrent_calls,
            max_queue_wait: Duration::from_millis(self.max_queue_wait_ms),
        }
    }

    /// A gRPC server with the connection settings, serving TLS with `tls` if given.
    fn builder(&self, tls: Option<ServerTlsConfig>) -> anyhow::Result<TonicServer> {
        let seconds = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        let mut builder = TonicServer::builder()
            .max_concurrent_streams(self.max_concurrent_streams)
            // A connection's window covers every stream's, so that the unread data of calls
            // waiting for a turn can never stall the calls being handled on the same connection.
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(
                self.max_concurrent_streams.saturating_mul(STREAM_WINDOW),
            )
            .http2_keepalive_interval(seconds(self.keepalive_secs))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)));
        if let Some(age) = seconds(self.max_connection_age_secs) {
            builder = builder
                .max_connection_age(age)
                .max_connection_age_grace(Duration::from_secs(self.max_connection_age_grace_secs));
        }
        if let Some(tls) = tls {
            builder = builder
                .tls_config(tls)
                .context("invalid TLS configuration")?;
        }
        Ok(builder)
    }
}

/// The HTTP/2 flow-control window of each stream: what a client may send ahead of the server.
/// 256 KiB, not 64: a client that streams (Envoy sends an ext_proc callout each body chunk as it
/// reads it, 16 KiB or so, without waiting for the answers) would otherwise run out of window
/// every few messages and wait for the server's WINDOW_UPDATE, a round trip each time (with 64
/// KiB, about 2 ms more at p50 for a 1 MiB body each way, and more of the server's CPU).
/// The connection's window, the sum of its streams', is then 50 MiB at 200 streams: what one
/// connection may make the server hold, unread, at most.
const STREAM_WINDOW: u32 = 256 * 1024;

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl Listen {
    /// Bind the address, unless it is `off`.
    pub async fn bind(self) -> anyhow::Result<Option<TcpListener>> {
        match self.0 {
            Some(address) => bind(address).await.map(Some),
            None => Ok(None),
        }
    }
}

impl FromStr for Listen {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") {
            Ok(Self(None))
        } else {
            s.parse().map(|address| Self(Some(address)))
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("off"),
        }
    }
}

/// Bind `address`, naming it in the error.
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("failed to listen on {address}"))
}

/// The TLS settings of `cert` and `key`, with client certificates checked against `client_ca`;
/// `hint` ends the message of a file that cannot be read.
pub fn tls_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
    hint: &str,
) -> anyhow::Result<ServerTlsConfig> {
    let read = |what: &str, path: &Path| {
        std::fs::read(path)
            .with_context(|| format!("failed to read the {what} `{}`{hint}", path.display()))
    };
    let identity = Identity::from_pem(
        read("TLS certificate", cert)?,
        read("TLS private key", key)?,
    );
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read("client CA bundle", ca)?));
    }
    Ok(tls)
}

/// A bound gRPC listener, and its TLS settings if it serves TLS.
#[derive(Debug)]
pub struct GrpcListener {
    /// The bound socket.
    pub listener: TcpListener,
    /// The TLS settings, or `None` for plaintext (h2c).
    pub tls: Option<ServerTlsConfig>,
}

/// The bound listeners: `ListenArgs::bind` makes them, and a test may make its own.
#[derive(Debug)]
pub struct Listeners {
    /// The gRPC listeners, each served with the same services.
    pub grpc: Vec<GrpcListener>,
    /// The admin HTTP listener, if it is not `off`.
    pub admin: Option<TcpListener>,
    /// Whether the admin listener answers readiness on every path but its own, not only at
    /// `/readyz`.
    pub ready_on_any_path: bool,
}

impl From<TcpListener> for Listeners {
    /// One plaintext gRPC listener, and no admin listener.
    fn from(listener: TcpListener) -> Self {
        Self {
            grpc: vec![GrpcListener {
                listener,
                tls: None,
            }],
            admin: None,
            ready_on_any_path: false,
        }
    }
}

/// The application services to serve, by name, so that health can report each one, and their
/// descriptors, so that reflection can describe them.
#[derive(Debug, Default)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptors: Vec<&'static [u8]>,
}

impl Services {
    /// Serve `service`, and report it in the health service.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Describe the services in reflection with an encoded `FileDescriptorSet`.
    pub fn describe(&mut self, descriptors: &'static [u8]) -> &mut Self {
        self.descriptors.push(descriptors);
        self
    }
}

/// Serve `services` on `listeners` with `args` until `shutdown` completes, then drain, as
/// [`Server::serve_on`] does with no layers or admin routes of the project's: what a test of a
/// project's services runs.
pub async fn serve<L: clap::Args + Bind>(
    listeners: Listeners,
    args: &ServerArgs<L>,
    services: Services,
    shutdown: impl Future<Output = Duration>,
) -> anyhow::Result<()> {
    Server::new(args)
        .serve_on(listeners, services, shutdown)
        .await
}

/// A change to the gRPC routes, applied before the layer around every call.
type RouteLayer = Box<dyn FnOnce(axum::Router) -> axum::Router + Send>;

/// The server, as a project's `main` builds it: [`Server::new`] with the settings, then any
/// tower layers and admin routes of the project's own, then [`Server::serve`].
pub struct Server<'a, L: clap::Args = ListenArgs> {
    args: &'a ServerArgs<L>,
    layers: Vec<RouteLayer>,
    admin: axum::Router,
}

impl<L: clap::Args> fmt::Debug for Server<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl<'a, L: clap::Args + Bind> Server<'a, L> {
    /// A server with `args`.
    pub fn new(args: &'a ServerArgs<L>) -> Self {
        Self {
            args,
            layers: Vec::new(),
            admin: axum::Router::new(),
        }
    }

    /// Run every gRPC call through `layer` too, inside the layer around every call: its
    /// deadline, turn and metrics cover the time spent in `layer`. Layers added later run
    /// first.
    pub fn layer<Y>(mut self, layer: Y) -> Self
    where
        Y: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        Y::Service:
            Service<axum::extract::Request, Error = Infallible> + Clone + Send + Sync + 'static,
        <Y::Service as Service<axum::extract::Request>>::Response:
            axum::response::IntoResponse + 'static,
        <Y::Service as Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.layers
            .push(Box::new(move |router| router.layer(layer)));
        self
    }

    /// Serve `routes` on the admin listener too, beside `/metrics`, `/livez` and `/readyz`.
    pub fn admin_routes(mut self, routes: axum::Router) -> Self {
        self.admin = self.admin.merge(routes);
        self
    }

    /// Bind the listeners and serve until SIGTERM or SIGINT.
    pub async fn serve(self, services: Services) -> anyhow::Result<()> {
        let listeners = self.args.listen.bind().await?;
        let signal = shutdown_signal().context("failed to install the signal handlers")?;
        let delay = Duration::from_secs(self.args.drain_delay_secs);
        let shutdown = async move {
            match signal.await {
                // What Kubernetes sends: give it time to take the pod out of its endpoints.
                Signal::Terminate => delay,
                // A person at a terminal: stop now.
                Signal::Interrupt => Duration::ZERO,
            }
        };
        self.serve_on(listeners, services, shutdown).await
    }

    /// Serve on `listeners` until `shutdown` completes with the drain delay, then drain: report
    /// NOT_SERVING (over gRPC and HTTP) while still serving for that delay, stop accepting, and
    /// give in-flight calls up to `--shutdown-grace-secs` to finish.
    pub async fn serve_on(
        self,
        listeners: Listeners,
        services: Services,
        shutdown: impl Future<Output = Duration>,
    ) -> anyhow::Result<()> {
        let args = self.args;
        let metrics = args.metrics.then(telemetry::metrics);
        let (health, health_service) = tonic_health::server::health_reporter();
        set_status(&health, &services.names, ServingStatus::Serving).await;
        let ready = Arc::new(AtomicBool::new(true));

        // Both reflection versions: grpcurl before 1.9 and many other tools speak only v1alpha.
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            for descriptors in &services.descriptors {
                builder = builder.register_encoded_file_descriptor_set(descriptors);
            }
            builder
        };
        let mut routes = services.routes;
        routes
            .add_service(health_service)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
        let mut router = routes.routes().into_axum_router();
        for layer in self.layers {
            router = layer(router);
        }
        let routes = Routes::from(router);
        let calls = CallsLayer::new(&services.names, args.call_limits());

        let (drain, draining) = watch::channel(false);
        let mut grpc = JoinSet::new();
        for GrpcListener { listener, tls } in listeners.grpc {
            let address = listener.local_addr()?;
            info!(%address, tls = tls.is_some(), "serving gRPC");
            let builder = args.builder(tls)?;
            grpc.spawn(serve_grpc(
                builder,
                listener,
                routes.clone(),
                calls.clone(),
                draining.clone(),
            ));
        }
        // Histograms keep their samples until upkeep folds them in: with scrapes far apart, or
        // no admin listener to scrape them at all, they would grow with every call.
        let upkeep = metrics.cloned().map(|handle| {
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                loop {
                    every.tick().await;
                    handle.run_upkeep();
                }
            })
        });
        let admin = listeners.admin.map(|listener| {
            if let Ok(address) = listener.local_addr() {
                info!(%address, "serving admin HTTP: /metrics, /livez, /readyz");
            }
            let routes = admin::routes(
                Arc::clone(&ready),
                metrics.cloned(),
                listeners.ready_on_any_path,
                self.admin,
            );
            tokio::spawn(admin::serve(listener, routes))
        });
        info!(version = telemetry::version(), services = ?services.names, "ready");

        let delay = tokio::select! {
            Some(result) = grpc.join_next() => {
                return result.context("a gRPC listener panicked")?;
            }
            delay = shutdown => delay,
        };

        info!(
            ?delay,
            "shutting down: reporting NOT_SERVING, still serving for the drain delay"
        );
        ready.store(false, Ordering::Release);
        set_status(&health, &services.names, ServingStatus::NotServing).await;
        tokio::time::sleep(delay).await;

        let grace = Duration::from_secs(args.shutdown_grace_secs);
        info!(?grace, "refusing new connections; draining in-flight calls");
        drain.send_replace(true);
        let drained = async {
            while let Some(result) = grpc.join_next().await {
                result.context("a gRPC listener panicked")??;
            }
            anyhow::Ok(())
        };
        match tokio::time::timeout(grace, drained).await {
            Ok(result) => result.context("the server failed while draining")?,
            Err(_) => warn!(?grace, "grace period expired; dropping the remaining calls"),
        }
        for task in [admin, upkeep].into_iter().flatten() {
            task.abort();
        }
        info!("stopped");
        Ok(())
    }
}

async fn serve_grpc(
    builder: TonicServer,
    listener: TcpListener,
    routes: Routes,
    calls: CallsLayer,
    mut draining: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // No Nagle: a reply written in pieces must not wait for the peer's delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    builder
        .layer(calls)
        .layer(axum::Extension(Draining(draining.clone())))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            draining.wait_for(|draining| *draining).await.ok();
        })
        .await
        .context("the gRPC server failed")
}

/// In the extensions of every call: when the server starts to drain, after the drain delay, a
/// stream that would otherwise run for ever (a watch, say) should end, so that its client
/// reconnects to a server that stays. The drain waits for open streams up to the grace period.
#[derive(Debug, Clone)]
pub struct Draining(watch::Receiver<bool>);

impl Draining {
    /// Complete once the server drains, or has stopped.
    pub async fn wait(&mut self) {
        self.0.wait_for(|draining| *draining).await.ok();
    }
}

/// Set the status of every service, and of the server as a whole (the empty name).
async fn set_status(health: &HealthReporter, names: &[&str], status: ServingStatus) {
    for name in names.iter().chain(&[""]) {
        health.set_service_status(*name, status).await;
    }
}

/// The signal that stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, from Docker, Kubernetes or another supervisor.
    Terminate,
    /// SIGINT, from Ctrl-C.
    Interrupt,
}

/// Completes on SIGTERM or SIGINT.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = Signal>> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {
                info!("received SIGTERM");
                Signal::Terminate
            }
            _ = interrupt.recv() => {
                info!("received SIGINT");
                Signal::Interrupt
            }
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = Signal>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            info!("received Ctrl-C");
        }
        Signal::Interrupt
    })
}
