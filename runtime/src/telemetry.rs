//! Logs, traces and metrics. Logs go through `tracing`: the level comes from `RUST_LOG`, the
//! format from `--log-format`. Traces are off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then
//! each call's span (`server/calls.rs`) is exported over OTLP/gRPC, continuing the client's W3C
//! `traceparent`. Metrics, unless turned off, go to a Prometheus recorder, which the admin listener
//! renders. [`Build`] is what the project's build calls itself.

use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithTonicConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::transport::ClientTlsConfig;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

use crate::server::ServerArgs;

/// What a project's build calls itself, as `--version`, the startup log, the `build_info`
/// metric and the traces' service name show it. [`build!`](crate::build) makes it in the
/// project's crate, so that the name and version are the project's.
#[derive(Debug)]
pub struct Build {
    name: &'static str,
    version: String,
}

impl Build {
    /// The build of package `name` at `version`: `ci_version` instead when it is set and not
    /// empty, else `version+git` when `git` (`git describe`) is not empty.
    pub fn new(name: &'static str, version: &str, ci_version: Option<&str>, git: &str) -> Self {
        let version = match ci_version {
            Some(ci) if !ci.is_empty() => ci.to_owned(),
            _ if git.is_empty() => version.to_owned(),
            _ => format!("{version}+{git}"),
        };
        Self { name, version }
    }

    /// The package's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The version: `VERSION` from the build's environment when CI sets it, or else
    /// Cargo.toml's, followed by `git describe` when built in a repository (`0.1.0+4f2a9c1`,
    /// with `.dirty` for changes not yet committed).
    pub fn version(&'static self) -> &'static str {
        &self.version
    }
}

/// The [`Build`] of the crate that calls it, made once: `build!().version()` is what clap's
/// `#[command(version = ...)]` wants.
///
/// ```
/// let build = grpc_scaffold_runtime::build!();
/// assert!(build.version().starts_with(env!("CARGO_PKG_VERSION")));
/// ```
#[macro_export]
macro_rules! build {
    () => {{
        static BUILD: ::std::sync::OnceLock<$crate::telemetry::Build> =
            ::std::sync::OnceLock::new();
        BUILD.get_or_init(|| {
            $crate::telemetry::Build::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                option_env!("VERSION"),
                $crate::__private::git_version::git_version!(
                    args = ["--always", "--dirty=.dirty"],
                    fallback = ""
                ),
            )
        })
    }};
}

/// The build that [`init`] was given.
static BUILD: OnceLock<&'static Build> = OnceLock::new();

/// The version of the build that [`init`] was given, or the runtime's own before that.
pub fn version() -> &'static str {
    BUILD
        .get()
        .map_or(env!("CARGO_PKG_VERSION"), |build| build.version())
}

/// Set once, by [`init`], when spans are exported.
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether each call gets a span to export: checked once per call, so that calls cost nothing
/// more when traces are off.
pub fn traces_on() -> bool {
    TRACES.load(Ordering::Relaxed)
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    #[default]
    Text,
    /// One JSON object per line, for log collectors
    Json,
}

/// What [`init`] returns; keep it alive until exit. Dropping it exports the spans not yet sent,
/// then writes the log lines still queued.
#[must_use = "dropping the guard stops the log writer and the span exporter"]
pub struct Guard {
    traces: Option<SdkTracerProvider>,
    _logs: WorkerGuard,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(%err, "the last spans were not exported");
        }
    }
}

/// Install the metrics recorder (if `metrics`), and the global subscriber, writing to stderr from a background
/// thread, in colour only on a terminal. `RUST_LOG` takes directives such as `info` or
/// `my_crate=debug`. With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans also go to that OTLP/gRPC
/// collector, as service `OTEL_SERVICE_NAME` (by default the package's name). Keep the guard
/// until exit.
pub fn init<L: clap::Args>(args: &ServerArgs<L>, build: &'static Build) -> Guard {
    let (format, metrics) = (args.log_format, args.metrics);
    BUILD.get_or_init(|| build);
    if metrics {
        self::metrics();
    }
    let (writer, logs) = tracing_appender::non_blocking(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    let (traces, failed) = match tracer_provider(build.name()) {
        Ok(traces) => (traces, None),
        Err(err) => (None, Some(err)),
    };
    let otel = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(build.name()))
            .with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .init();
    if let Some(err) = failed {
        tracing::warn!(%err, "traces are off: the OTLP exporter could not be made");
    }
    TRACES.store(traces.is_some(), Ordering::Relaxed);
    Guard {
        traces,
        _logs: logs,
    }
}

/// A provider that exports spans in batches over OTLP/gRPC, if an endpoint is set. An `https`
/// endpoint is reached over TLS, trusting the webpki roots.
fn tracer_provider(
    name: &'static str,
) -> Result<Option<SdkTracerProvider>, opentelemetry_otlp::ExporterBuildError> {
    let set = |name| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(None);
    }
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_tls_config(ClientTlsConfig::new().with_webpki_roots())
        .build()?;
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| name.to_owned());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build(),
    ))
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
        metrics::gauge!("build_info", "version" => version()).set(1);
        handle
    })
}
