//! Logging with `tracing`: the level comes from `RUST_LOG`, the format from `--log-format`.

use std::io::{IsTerminal as _, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

mod line;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    #[default]
    Text,
    /// One JSON object per line, for log collectors
    Json,
}

/// Install the global subscriber, writing to stderr, in colour only on a terminal. `RUST_LOG`
/// takes directives such as `info` or `my_crate=debug`.
///
/// A request never waits on stderr: lines go to a buffer in memory, which a background thread
/// writes out at most [`FLUSH_INTERVAL`] after the first line arrives, many lines in one write.
/// Keep the returned guard alive until exit, when it writes what is left.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> LogGuard {
    metrics();
    let (writer, guard) = Batched::start();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stderr().is_terminal();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(terminal);
    match format {
        // Colours for a person at a terminal; elsewhere, the same lines written for less.
        LogFormat::Text if terminal => subscriber.init(),
        LogFormat::Text => subscriber.event_format(line::Line).init(),
        LogFormat::Json => subscriber.json().init(),
    }
    guard
}

/// The process's metrics recorder, which `GET /metrics` renders; installed on first use, which
/// [`init`] makes before any service makes a metric.
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
        // Only a test that installs its own recorder first gets here with one in place.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// How long a line may wait in memory before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Past this many bytes waiting, the logging thread writes them itself rather than grow the
/// buffer: a flood of logs slows the server down instead of exhausting its memory.
const MAX_PENDING: usize = 1 << 20;

#[derive(Debug, Default)]
struct Pending {
    bytes: Vec<u8>,
    stopping: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The subscriber's writer: it appends each formatted line to the shared buffer.
#[derive(Debug, Clone)]
struct Batched(Arc<Shared>);

impl Batched {
    fn start() -> (Self, LogGuard) {
        let shared = Arc::new(Shared::default());
        let flusher = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || flush_until_stopped(&flusher))
            .ok();
        let guard = LogGuard {
            shared: Arc::clone(&shared),
            thread,
        };
        (Self(shared), guard)
    }
}

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        if pending.bytes.len() + line.len() > MAX_PENDING {
            std::io::stderr().lock().write_all(&pending.bytes)?;
            pending.bytes.clear();
        }
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        drop(pending);
        // Only the first line of a batch wakes the writer thread; it collects the rest.
        if first {
            self.0.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Wait for a line, let more gather for [`FLUSH_INTERVAL`], write them all; until stopped.
fn flush_until_stopped(shared: &Shared) {
    // Two buffers take turns, so that neither is allocated again once it has grown.
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.bytes.is_empty() && !pending.stopping {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let stopping = pending.stopping;
        drop(pending);
        if !stopping {
            thread::sleep(FLUSH_INTERVAL);
        }
        std::mem::swap(&mut shared.lock().bytes, &mut batch);
        // Nowhere is left to report a failure to write the logs.
        let _ = std::io::stderr().lock().write_all(&batch);
        batch.clear();
        if stopping {
            return;
        }
    }
}

/// Writes the lines still in memory, and stops the writer thread, when dropped.
#[derive(Debug)]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.arrived.notify_one();
        match self.thread.take() {
            Some(thread) => {
                let _ = thread.join();
            }
            // The thread never started: write what is left here.
            None => {
                let batch = std::mem::take(&mut self.shared.lock().bytes);
                let _ = std::io::stderr().lock().write_all(&batch);
            }
        }
    }
}
