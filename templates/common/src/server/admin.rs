//! The admin HTTP listener, plaintext on the pod network, for what probes and scrapers ask:
//! `GET /metrics` in Prometheus' text format (404 when metrics are off), `/livez` (200 while the process runs), and any
//! other path for readiness (200 while serving, 503 once draining).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

/// Serve `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    ready: Arc<AtomicBool>,
    metrics: Option<PrometheusHandle>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(%err, "failed to accept an admin connection");
                continue;
            }
        };
        let ready = Arc::clone(&ready);
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let answer = service_fn(move |request: hyper::Request<_>| {
                let response = match (request.uri().path(), &metrics) {
                    ("/metrics", Some(metrics)) => {
                        let mut response = Response::new(metrics.render());
                        response.headers_mut().insert(
                            CONTENT_TYPE,
                            "text/plain; version=0.0.4".parse().expect("a valid header"),
                        );
                        response
                    }
                    ("/metrics", None) => {
                        let mut response = Response::new("metrics are off\n".to_owned());
                        *response.status_mut() = StatusCode::NOT_FOUND;
                        response
                    }
                    ("/livez", _) => Response::new("ok\n".to_owned()),
                    _ if ready.load(Ordering::Acquire) => Response::new("SERVING\n".to_owned()),
                    _ => {
                        let mut response = Response::new("NOT_SERVING\n".to_owned());
                        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                        response
                    }
                };
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), answer);
            if let Err(err) = connection.await {
                tracing::debug!(%err, "an admin connection ended with an error");
            }
        });
    }
}
