//! Logs and metrics. Logs go through `tracing`: the level comes from `RUST_LOG`, the format from
//! `--log-format`. Metrics go to a Prometheus recorder, which the admin listener renders.

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    #[default]
    Text,
    /// One JSON object per line, for log collectors
    Json,
}

/// Install the metrics recorder, and the global subscriber, writing to stderr from a background
/// thread, in colour only on a terminal. `RUST_LOG` takes directives such as `info` or
/// `my_crate=debug`.
///
/// Keep the returned guard alive until exit: dropping it writes the lines still queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    metrics();
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => subscriber.init(),
        LogFormat::Json => subscriber.json().init(),
    }
    guard
}

/// The process's metrics recorder, installed on first use. [`init`] installs it before any
/// service makes a metric, since a metric made before it would record nowhere.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let latency = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Only a test that installed a recorder of its own first finds one in place.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}
