//! The callout server around the processor: a plaintext gRPC listener, a TLS gRPC listener and
//! an HTTP health listener, each of which can be turned off; message-size limits; gRPC health
//! and reflection; and graceful shutdown. Configured from flags or environment variables.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::codegen::http::Request;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{debug, info, warn};

use crate::telemetry::LogFormat;

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

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

/// How the server listens, and how it shuts down.
#[derive(Debug, Clone, clap::Parser)]
pub struct ServerArgs {
    /// Plaintext (h2c) gRPC address, or `off`
    #[arg(long, env = "PLAINTEXT_LISTEN", default_value = "[::]:8080")]
    pub plaintext_listen: Listen,

    /// TLS gRPC address, or `off`; serves --tls-cert and --tls-key
    #[arg(long, env = "TLS_LISTEN", default_value = "[::]:8443")]
    pub tls_listen: Listen,

    /// HTTP health address, or `off`: any path answers 200 while serving, 503 otherwise
    #[arg(long, env = "HEALTH_LISTEN", default_value = "[::]:8000")]
    pub health_listen: Listen,

    /// PEM certificate chain of the TLS listener (`make certs` makes a development one)
    #[arg(long, env = "TLS_CERT", default_value = "certs/server.pem")]
    pub tls_cert: PathBuf,

    /// PEM private key of --tls-cert
    #[arg(long, env = "TLS_KEY", default_value = "certs/server.key")]
    pub tls_key: PathBuf,

    /// PEM CA bundle: require client certificates signed by it on the TLS listener (mutual TLS)
    #[arg(long, env = "TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,

    /// Largest message received, in MiB
    #[arg(long, env = "MAX_RECV_MSG_SIZE_MB", default_value_t = 4)]
    pub max_recv_msg_size_mb: usize,

    /// Largest message sent, in MiB
    #[arg(long, env = "MAX_SEND_MSG_SIZE_MB", default_value_t = 4)]
    pub max_send_msg_size_mb: usize,

    /// Seconds to let open streams finish after SIGTERM or SIGINT
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

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

impl ServerArgs {
    /// The message-size limits in bytes.
    pub fn message_limits(&self) -> MessageLimits {
        let bytes = |mib: usize| mib.saturating_mul(1024 * 1024);
        MessageLimits {
            receive: bytes(self.max_recv_msg_size_mb),
            send: bytes(self.max_send_msg_size_mb),
        }
    }

    /// The TLS settings of the TLS listener, read from disk.
    fn tls(&self) -> anyhow::Result<ServerTlsConfig> {
        let cert = read_pem("TLS certificate", &self.tls_cert)?;
        let key = read_pem("TLS private key", &self.tls_key)?;
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.tls_client_ca {
            let ca = read_pem("client CA bundle", ca)?;
            tls = tls.client_ca_root(Certificate::from_pem(ca));
        }
        Ok(tls)
    }
}

fn read_pem(what: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "failed to read the {what} `{}`: run `make certs` for development certificates, \
             or turn the TLS listener off with `--tls-listen off`",
            path.display()
        )
    })
}

/// The bound listeners; `None` for each one that is off.
#[derive(Debug)]
pub struct Listeners {
    pub plaintext: Option<TcpListener>,
    pub tls: Option<TcpListener>,
    pub health: Option<TcpListener>,
}

impl Listeners {
    /// Bind every listener that `args` turns on. Refuses a configuration without a gRPC
    /// listener, since such a server could never be called.
    pub async fn bind(args: &ServerArgs) -> anyhow::Result<Self> {
        if args.plaintext_listen.0.is_none() && args.tls_listen.0.is_none() {
            bail!(
                "no gRPC listener: --plaintext-listen and --tls-listen are both `off`; \
                 turn at least one of them on"
            );
        }
        Ok(Self {
            plaintext: bind(args.plaintext_listen).await?,
            tls: bind(args.tls_listen).await?,
            health: bind(args.health_listen).await?,
        })
    }
}

async fn bind(listen: Listen) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = listen.0 else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("failed to listen on {address}"))?;
    Ok(Some(listener))
}

/// The application services to serve, by name, so that health can report each one.
#[derive(Debug, Default)]
pub struct Services {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl Services {
    /// Serve `service`, and report it in the health service.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<
                Request<Body>,
                Response = tonic::codegen::http::Response<Body>,
                Error = Infallible,
            > + NamedService
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
}

/// Bind the listeners and serve until SIGTERM or SIGINT.
pub async fn run(args: &ServerArgs, services: Services) -> anyhow::Result<()> {
    let listeners = Listeners::bind(args).await?;
    let shutdown = shutdown_signal().context("failed to install the signal handlers")?;
    serve(listeners, args, services, shutdown).await
}

/// Serve on `listeners` until `shutdown` completes, then drain: report NOT_SERVING (over gRPC and
/// HTTP), stop accepting, and give open streams up to `--shutdown-grace-secs` to finish.
pub async fn serve(
    listeners: Listeners,
    args: &ServerArgs,
    services: Services,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // Read the certificates before serving anything, so that a missing file stops the start.
    let tls = match listeners.tls {
        Some(_) => Some(args.tls()?),
        None => None,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    set_status(&health, &services.names, ServingStatus::Serving).await;
    let ready = Arc::new(AtomicBool::new(true));

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut routes = services.routes;
    routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    let routes = routes.routes();

    let (drain, draining) = watch::channel(false);
    let mut grpc = JoinSet::new();
    if let Some(listener) = listeners.plaintext {
        let address = listener.local_addr()?;
        info!(%address, "serving gRPC, plaintext");
        grpc.spawn(serve_grpc(
            Server::builder(),
            listener,
            routes.clone(),
            draining.clone(),
        ));
    }
    if let (Some(listener), Some(tls)) = (listeners.tls, tls) {
        let address = listener.local_addr()?;
        info!(%address, "serving gRPC, TLS");
        let builder = Server::builder()
            .tls_config(tls)
            .context("invalid TLS configuration")?;
        grpc.spawn(serve_grpc(builder, listener, routes, draining.clone()));
    }
    let health_http = listeners.health.map(|listener| {
        if let Ok(address) = listener.local_addr() {
            info!(%address, "serving HTTP health checks");
        }
        tokio::spawn(serve_health(listener, Arc::clone(&ready)))
    });
    info!(services = ?services.names, "ready");

    tokio::select! {
        Some(result) = grpc.join_next() => {
            return result.context("a gRPC listener panicked")?;
        }
        () = shutdown => {}
    }

    let grace = Duration::from_secs(args.shutdown_grace_secs);
    info!(?grace, "shutting down: draining open streams");
    ready.store(false, Ordering::Release);
    set_status(&health, &services.names, ServingStatus::NotServing).await;
    drain.send_replace(true);
    let drained = async {
        while let Some(result) = grpc.join_next().await {
            result.context("a gRPC listener panicked")??;
        }
        anyhow::Ok(())
    };
    match tokio::time::timeout(grace, drained).await {
        Ok(result) => result.context("the server failed while draining")?,
        Err(_) => warn!(
            ?grace,
            "grace period expired; dropping the remaining streams"
        ),
    }
    if let Some(task) = health_http {
        task.abort();
    }
    info!("stopped");
    Ok(())
}

async fn serve_grpc(
    builder: Server,
    listener: TcpListener,
    routes: Routes,
    mut draining: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // No Nagle: a reply written in pieces must not wait for the peer's delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = builder;
    builder
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            draining.wait_for(|draining| *draining).await.ok();
        })
        .await
        .context("the gRPC server failed")
}

/// Answer every HTTP/1.1 request with 200 while `ready`, and 503 once draining, until the server
/// stops.
async fn serve_health(listener: TcpListener, ready: Arc<AtomicBool>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                warn!(%err, "failed to accept a health check connection");
                continue;
            }
        };
        let ready = Arc::clone(&ready);
        tokio::spawn(async move {
            let check = service_fn(move |_request| {
                let (status, body) = if ready.load(Ordering::Acquire) {
                    (StatusCode::OK, "SERVING\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n")
                };
                let mut response = Response::new(body.to_owned());
                *response.status_mut() = status;
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), check);
            if let Err(err) = connection.await {
                debug!(%err, "health check connection ended with an error");
            }
        });
    }
}

/// Set the status of every service, and of the server as a whole (the empty name).
async fn set_status(health: &HealthReporter, names: &[&str], status: ServingStatus) {
    for name in names.iter().chain(&[""]) {
        health.set_service_status(*name, status).await;
    }
}

/// Completes on SIGTERM (what Docker and Kubernetes send) or SIGINT (Ctrl-C).
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => info!("received SIGTERM"),
            _ = interrupt.recv() => info!("received SIGINT"),
        }
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            info!("received Ctrl-C");
        }
    })
}
