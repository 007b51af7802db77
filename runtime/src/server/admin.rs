//! The admin HTTP listener, plaintext on the pod network, for what probes and scrapers ask:
//! `GET /metrics` in Prometheus' text format (when metrics are on), `/livez` (200 while the
//! process runs) and `/readyz` (200 while serving, 503 once draining). Any other path is 404,
//! unless the listener answers readiness on any path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

/// How long a client may take to send its request headers, so that slow clients cannot hold
/// connections open.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest pause after a failed accept (most often: out of file descriptors); the pause
/// doubles from a millisecond while accepts keep failing.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The admin routes: readiness from `ready`, `/metrics` if there are `metrics`, and the
/// project's own `extra` routes.
pub fn routes(
    ready: Arc<AtomicBool>,
    metrics: Option<PrometheusHandle>,
    ready_on_any_path: bool,
    extra: Router,
) -> Router {
    let mut router = Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness));
    if let Some(metrics) = metrics {
        router = router.route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
            }),
        );
    }
    if ready_on_any_path {
        router = router.fallback(readiness);
    }
    extra.merge(router.with_state(ready))
}

async fn readiness(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if ready.load(Ordering::Acquire) {
        (StatusCode::OK, "SERVING\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n")
    }
}

/// Serve `routes` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, routes: Router) {
    let mut backoff = Duration::ZERO;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                backoff = Duration::ZERO;
                stream
            }
            Err(err) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(1), MAX_ACCEPT_BACKOFF);
                tracing::warn!(%err, ?backoff, "failed to accept an admin connection");
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(routes.clone());
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = connection.await {
                tracing::debug!(%err, "an admin connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    /// An admin listener on a free port, ready, without metrics.
    async fn admin(ready_on_any_path: bool) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let routes = routes(
            Arc::new(AtomicBool::new(true)),
            None,
            ready_on_any_path,
            Router::new(),
        );
        tokio::spawn(serve(listener, routes));
        address
    }

    /// The status line of `GET path`.
    async fn status_line(address: std::net::SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response.lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn only_the_probes_are_served() {
        let address = admin(false).await;
        assert_eq!(status_line(address, "/livez").await, "HTTP/1.1 200 OK");
        assert_eq!(status_line(address, "/readyz").await, "HTTP/1.1 200 OK");
        for path in ["/nonexistent", "/", "/readyz/more", "/metrics"] {
            assert_eq!(
                status_line(address, path).await,
                "HTTP/1.1 404 Not Found",
                "{path}"
            );
        }
        let address = admin(true).await;
        for path in ["/", "/any/path", "/readyz"] {
            assert_eq!(
                status_line(address, path).await,
                "HTTP/1.1 200 OK",
                "{path}"
            );
        }
    }

    /// A client that sends its request headers a byte a second is cut off long before it is done.
    #[tokio::test]
    async fn a_slow_client_is_cut_off() {
        let address = admin(false).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request =
            b"GET /livez HTTP/1.1\r\nHost: admin\r\nUser-Agent: a very slow client\r\n\r\n";
        let mut sent = 0;
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        let mut answer = [0; 64];
        // Until the server answers or closes the connection.
        loop {
            tokio::select! {
                _ = ticks.tick(), if sent < request.len() => {
                    if stream.write_all(&request[sent..=sent]).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
                _ = stream.read(&mut answer) => break,
            }
        }
        // A 408 is fine, and so is a closed connection; an answer to the whole request is not.
        assert!(sent < request.len(), "the whole request went through");
    }
}
