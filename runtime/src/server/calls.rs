//! The layer around every call, whatever its service: the deadline (the client's `grpc-timeout`
//! for the whole call, and the server's maximum for its handler, until the response starts, so
//! that a stream may stay open for as long as its client wants), the limit of calls handled at
//! once, a panic turned into `INTERNAL` for that call alone, a debug line per call, the metrics of each method, and, when
//! traces are on, a server span per call whose parent is the client's W3C `traceparent`.
//!
//! Metrics, by `grpc_service` and `grpc_method`: `grpc_server_started_total`,
//! `grpc_server_handled_total` (also by `grpc_code`), `grpc_server_handling_seconds` (from the
//! call to its last message) and `grpc_server_in_flight`. A call that ends without a status, its
//! stream reset by the client or dropped by a timer, counts as `CANCELLED`.
//!
//! **Deadlines.** tonic's transport `Server` always adds a `grpc-timeout` timer of its own,
//! outside this layer, that answers `CANCELLED` when it fires first (its `Server::timeout` does
//! the same, and does not bound a response stream, so it does not fit either). This layer fixes
//! the call's deadline in `call`, before tonic's timer starts, so its deadline is never the later
//! of the two; and it reads the clock at every poll, before the handler is polled, so that a call
//! first polled after its deadline answers `DEADLINE_EXCEEDED` at once, whatever the order in
//! which the two timers fire. tonic polls this layer's future before its own timer.
//!
//! **The limit of calls at once** counts handlers, not open streams: a call holds its turn until
//! its response headers go out, which for a streaming call is when its stream starts. A call that
//! waits for a turn does so within its deadline; one that waits longer than the queue's maximum
//! gets `RESOURCE_EXHAUSTED`, the code for an overloaded server, so that the client backs off
//! rather than retries at once. tower's `GlobalConcurrencyLimitLayer` does not fit: it waits in
//! `poll_ready`, outside any deadline and without a bound, and cannot let health checks through.
//! Nor does tower-http's `CatchPanicLayer`, which catches a panic of the handler but not of its
//! response stream; `CallBody` catches both.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use http_body::Frame;
use metrics::{Counter, Gauge, Histogram};
use opentelemetry_http::HeaderExtractor;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tonic::codegen::http::header::CONTENT_TYPE;
use tonic::codegen::http::{HeaderMap, Request, Response, StatusCode};
use tonic::{Code, Status};
use tower::{Layer, Service};
use tracing::{Instrument as _, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::telemetry;

/// Services whose calls never wait for the concurrency limit: health checks must answer under
/// load, and reflection is for people.
const EXEMPT: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// At most this many methods get metrics of their own; calls to others count as `unknown`, so
/// that a client cannot grow the metrics without bound by calling made-up methods.
const MAX_METHODS: usize = 1000;

/// The limits that every call is held to.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// The longest a handler may take to answer, whatever the client's deadline (for a streaming
    /// response, to start its stream); `None` for no maximum.
    pub max_call: Option<Duration>,
    /// Calls handled at once, over all connections.
    pub max_concurrent: usize,
    /// The longest a call waits for its turn before it gets `RESOURCE_EXHAUSTED`.
    pub max_queue_wait: Duration,
}

/// The layer; cheap to clone, one per server.
#[derive(Debug, Clone)]
pub struct CallsLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    services: Vec<&'static str>,
    limits: CallLimits,
    permits: Arc<Semaphore>,
    methods: RwLock<HashMap<String, Arc<MethodMetrics>>>,
    unknown: Arc<MethodMetrics>,
}

impl CallsLayer {
    /// Calls to `services` (and health and reflection), held to `limits`.
    pub fn new(services: &[&'static str], limits: CallLimits) -> Self {
        let mut services = services.to_vec();
        services.extend_from_slice(EXEMPT);
        Self {
            shared: Arc::new(Shared {
                services,
                limits,
                permits: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
                methods: RwLock::default(),
                unknown: Arc::new(MethodMetrics::new("unknown", "unknown")),
            }),
        }
    }
}

impl<S> Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Calls<S> {
        Calls {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Shared {
    /// The metrics of the method at `path` (`/package.Service/Method`).
    fn method(&self, path: &str) -> Arc<MethodMetrics> {
        if let Some(method) = self
            .methods
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Arc::clone(method);
        }
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return Arc::clone(&self.unknown);
        };
        if !self.services.contains(&service) {
            return Arc::clone(&self.unknown);
        }
        let mut methods = self.methods.write().unwrap_or_else(|e| e.into_inner());
        if methods.len() >= MAX_METHODS {
            return Arc::clone(&self.unknown);
        }
        let metrics = methods
            .entry(path.to_owned())
            .or_insert_with(|| Arc::new(MethodMetrics::new(service, method)));
        Arc::clone(metrics)
    }
}

/// The metric handles of one method, made once.
#[derive(Debug)]
struct MethodMetrics {
    service: String,
    method: String,
    started: Counter,
    in_flight: Gauge,
    latency: Histogram,
    /// `grpc_server_handled_total`, by code, made on first use.
    handled: [OnceLock<Counter>; 17],
}

impl MethodMetrics {
    fn new(service: &str, method: &str) -> Self {
        let labels = [
            ("grpc_service", service.to_owned()),
            ("grpc_method", method.to_owned()),
        ];
        Self {
            service: service.to_owned(),
            method: method.to_owned(),
            started: metrics::counter!("grpc_server_started_total", &labels),
            in_flight: metrics::gauge!("grpc_server_in_flight", &labels),
            latency: metrics::histogram!("grpc_server_handling_seconds", &labels),
            handled: Default::default(),
        }
    }

    fn handled(&self, code: Code) -> &Counter {
        let index = usize::try_from(i32::from(code)).map_or(2, |i| i.min(16));
        self.handled[index].get_or_init(|| {
            metrics::counter!(
                "grpc_server_handled_total",
                "grpc_service" => self.service.clone(),
                "grpc_method" => self.method.clone(),
                "grpc_code" => format!("{code:?}"),
            )
        })
    }
}

/// One call, from its start to its status; one dropped before its status counts as `CANCELLED`.
struct Call {
    metrics: Arc<MethodMetrics>,
    started: Instant,
    /// The call's span, when traces are on; it ends with the call.
    span: Option<Span>,
    finished: bool,
}

impl Call {
    fn start(metrics: Arc<MethodMetrics>, headers: &HeaderMap, started: Instant) -> Self {
        metrics.started.increment(1);
        metrics.in_flight.increment(1.0);
        let span = telemetry::traces_on().then(|| server_span(&metrics, headers));
        Self {
            metrics,
            started,
            span,
            finished: false,
        }
    }

    /// Count the call as ended with `code`, once.
    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        if let Some(span) = &self.span {
            span.record("rpc.grpc.status_code", i32::from(code));
            // The codes that the semantic conventions count as the server's errors.
            if matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ) {
                span.record("otel.status_code", "error");
            }
        }
        self.metrics.in_flight.decrement(1.0);
        self.metrics.latency.record(elapsed);
        self.metrics.handled(code).increment(1);
        tracing::debug!(
            service = %self.metrics.service,
            method = %self.metrics.method,
            code = ?code,
            latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "call"
        );
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // No status went out: the client reset the stream or went away, or a timer dropped it.
        self.finish(Code::Cancelled);
    }
}

/// The span of a call to `metrics`' method, a child of the `traceparent` in `headers` if any.
fn server_span(metrics: &MethodMetrics, headers: &HeaderMap) -> Span {
    let span = tracing::info_span!(
        "call",
        otel.name = %format_args!("{}/{}", metrics.service, metrics.method),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %metrics.service,
        rpc.method = %metrics.method,
        rpc.grpc.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // Fails only if no subscriber keeps OpenTelemetry contexts, and then no span is exported.
    let _ = span.set_parent(parent);
    span
}

/// The service that [`CallsLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct Calls<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request<Body>> for Calls<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<CallBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !is_grpc(request.headers()) {
            return Box::pin(async { Ok(unsupported_media_type()) });
        }
        // Here, not in the future: tonic starts its own timer once this returns.
        let limits = self.shared.limits;
        let now = Instant::now();
        let asked = asked(request.headers());
        let deadline = deadline(asked, limits.max_call).map(|d| now + d);
        let asked = asked.map(|d| now + d);
        let metrics = self.shared.method(request.uri().path());
        let permits =
            (!EXEMPT.contains(&metrics.service.as_str())).then(|| Arc::clone(&self.shared.permits));
        let mut call = Call::start(metrics, request.headers(), now);
        let span = call.span.clone().unwrap_or_else(Span::none);
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let handler = async {
                // Held until the response headers are ready.
                let _turn = match permits {
                    Some(permits) => Some(turn(permits, limits.max_queue_wait).await?),
                    None => None,
                };
                Ok(inner.call(request).await)
            };
            let handled = AssertUnwindSafe(within(deadline, handler).instrument(span))
                .catch_unwind()
                .await;
            match handled.map(|answer| answer.and_then(|handled| handled)) {
                // The server's maximum bounds the handler; the client's deadline, the stream too.
                Ok(Ok(Ok(response))) => Ok(CallBody::watch(response, call, asked)),
                Ok(Ok(Err(err))) => {
                    call.finish(Code::Unknown);
                    Err(err)
                }
                Ok(Err(status)) => Ok(answer(call, &status)),
                Err(panic) => {
                    tracing::error!(
                        service = %call.metrics.service,
                        method = %call.metrics.method,
                        panic = panic_message(&*panic),
                        "a handler panicked; its call fails with INTERNAL"
                    );
                    Ok(answer(call, &Status::internal("the handler panicked")))
                }
            }
        })
    }
}

/// `future`'s output, or `DEADLINE_EXCEEDED` once `deadline` has passed. The clock is read before
/// `future` is polled, every time, so that a call polled late answers at once and its handler
/// never runs past the deadline. The timer is made only once `future` has to wait, since most
/// unary handlers answer at their first poll.
async fn within<T>(
    deadline: Option<Instant>,
    future: impl Future<Output = T>,
) -> Result<T, Status> {
    let Some(deadline) = deadline else {
        return Ok(future.await);
    };
    let mut future = pin!(future);
    let mut timer = pin!(None::<Sleep>);
    std::future::poll_fn(|cx| {
        if Instant::now() >= deadline {
            return Poll::Ready(Err(deadline_exceeded()));
        }
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if timer.is_none() {
            timer.set(Some(tokio::time::sleep_until(deadline.into())));
        }
        match timer.as_mut().as_pin_mut() {
            Some(timer) => timer.poll(cx).map(|()| Err(deadline_exceeded())),
            None => Poll::Pending,
        }
    })
    .await
}

fn deadline_exceeded() -> Status {
    Status::deadline_exceeded("the call's deadline passed")
}

/// A turn to be handled, after a wait of at most `max_wait`.
async fn turn(permits: Arc<Semaphore>, max_wait: Duration) -> Result<OwnedSemaphorePermit, Status> {
    if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
        return Ok(permit);
    }
    match tokio::time::timeout(max_wait, permits.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        // The semaphore is never closed, so only the wait can fail.
        Ok(Err(_)) | Err(_) => Err(Status::resource_exhausted(
            "the server is handling as many calls as it may; retry with backoff",
        )),
    }
}

/// Whether the request says it is gRPC: `application/grpc`, or `application/grpc+<codec>`.
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("application/grpc"))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
}

/// What the gRPC spec asks of a server for any other content type: HTTP 415, which clients map
/// to a status of their own. It is no call, so it is left out of the metrics.
fn unsupported_media_type() -> Response<CallBody> {
    let mut response = Status::internal("the content type is not application/grpc").into_http();
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.map(CallBody::done)
}

/// A trailers-only answer of `status`, which ends `call`.
fn answer(mut call: Call, status: &Status) -> Response<CallBody> {
    call.finish(status.code());
    status.clone().into_http().map(CallBody::done)
}

/// How long the handler may take: the client's deadline, capped by `max_call`.
fn deadline(asked: Option<Duration>, max_call: Option<Duration>) -> Option<Duration> {
    match (asked, max_call) {
        (Some(asked), Some(max)) => Some(asked.min(max)),
        (asked, max) => asked.or(max),
    }
}

/// How long the whole call may take: the client's `grpc-timeout`.
fn asked(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("grpc-timeout")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_timeout)
}

/// A `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u` or `n`). One that
/// does not parse is ignored, as the gRPC spec allows, and the server's maximum applies.
fn parse_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// A response body that ends its call: at the trailers, at the deadline, at a panic of the
/// stream that produces it, or when the client goes away (`CANCELLED`, as the call is dropped).
pub struct CallBody {
    inner: Option<Body>,
    call: Option<Call>,
    deadline: Option<Instant>,
    /// The timer of the deadline, armed once the body has to wait: a unary answer is usually
    /// ready at once, and a timer armed for each call takes the runtime's timer lock twice.
    timer: Option<Pin<Box<Sleep>>>,
}

impl CallBody {
    /// A body whose call, if any, has already been counted.
    fn done(inner: Body) -> Self {
        Self {
            inner: Some(inner),
            call: None,
            deadline: None,
            timer: None,
        }
    }

    fn watch(
        response: Response<Body>,
        mut call: Call,
        deadline: Option<Instant>,
    ) -> Response<Self> {
        // A trailers-only response (an error before any message) carries its status in headers.
        if let Some(code) = response.headers().get("grpc-status") {
            call.finish(Code::from_bytes(code.as_bytes()));
            return response.map(Self::done);
        }
        response.map(|inner| Self {
            inner: Some(inner),
            call: Some(call),
            deadline,
            timer: None,
        })
    }

    /// Count the call as ended with `code`.
    fn finish(&mut self, code: Code) {
        self.deadline = None;
        self.timer = None;
        if let Some(mut call) = self.call.take() {
            call.finish(code);
        }
    }

    /// End the stream now with `status` in its trailers.
    fn end(&mut self, status: &Status) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.inner = None;
        self.finish(status.code());
        let mut trailers = HeaderMap::new();
        match status.add_header(&mut trailers) {
            Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Err(_) => Poll::Ready(None),
        }
    }
}

impl http_body::Body for CallBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.deadline.is_some_and(|at| Instant::now() >= at) {
            return this.end(&deadline_exceeded());
        }
        let Some(inner) = &mut this.inner else {
            return Poll::Ready(None);
        };
        let polled = catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll_frame(cx)));
        let frame = match polled {
            Ok(Poll::Ready(frame)) => frame,
            Ok(Poll::Pending) => {
                if let Some(at) = this.deadline {
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
                    if timer.as_mut().poll(cx).is_ready() {
                        return this.end(&deadline_exceeded());
                    }
                }
                return Poll::Pending;
            }
            Err(panic) => {
                tracing::error!(
                    panic = panic_message(&*panic),
                    "a response stream panicked; its call fails with INTERNAL"
                );
                return this.end(&Status::internal("the handler panicked"));
            }
        };
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .map_or(Code::Unknown, |code| Code::from_bytes(code.as_bytes()));
                    this.finish(code);
                }
            }
            Some(Err(_)) => this.finish(Code::Unknown),
            None => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.as_ref().map_or_else(
            || http_body::SizeHint::with_exact(0),
            http_body::Body::size_hint,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicBool, Ordering};

    use http_body::Body as _;
    use tower::Service as _;

    use super::*;

    /// A handler that panics on `/test.Svc/Panic`, streams a body that panics on
    /// `/test.Svc/PanicLater`, and otherwise never answers; `dropped` tells when it is dropped.
    #[derive(Clone)]
    struct Handler {
        dropped: Arc<AtomicBool>,
    }

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A response stream with a bug.
    struct Panicking;

    impl http_body::Body for Panicking {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            panic!("a bug in a stream")
        }
    }

    impl Service<Request<Body>> for Handler {
        type Response = Response<Body>;
        type Error = Infallible;
        type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            let guard = SetOnDrop(Arc::clone(&self.dropped));
            Box::pin(async move {
                let _guard = guard;
                match request.uri().path() {
                    "/test.Svc/Panic" => panic!("a bug in a handler"),
                    "/test.Svc/PanicLater" => Ok(Response::new(Body::new(Panicking))),
                    _ => std::future::pending().await,
                }
            })
        }
    }

    fn limits(max_call: Option<Duration>) -> CallLimits {
        CallLimits {
            max_call,
            max_concurrent: 4,
            max_queue_wait: Duration::from_secs(1),
        }
    }

    /// Call `path` through the layer; the `grpc-status` of the answer, from its headers or
    /// its trailers, and whether the handler was dropped.
    async fn call(path: &str, timeout: Option<&str>) -> (Option<Code>, bool) {
        let dropped = Arc::new(AtomicBool::new(false));
        let layer = CallsLayer::new(&["test.Svc"], limits(Some(Duration::from_secs(30))));
        let mut service = layer.layer(Handler {
            dropped: Arc::clone(&dropped),
        });
        let mut request = Request::builder()
            .uri(path)
            .header(CONTENT_TYPE, "application/grpc");
        if let Some(timeout) = timeout {
            request = request.header("grpc-timeout", timeout);
        }
        let response = service
            .call(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let code = |headers: &HeaderMap| {
            headers
                .get("grpc-status")
                .map(|c| Code::from_bytes(c.as_bytes()))
        };
        let mut status = code(response.headers());
        let mut body = response.into_body();
        while status.is_none() {
            let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
            else {
                break;
            };
            if let Some(trailers) = frame.unwrap().trailers_ref() {
                status = code(trailers);
            }
        }
        (status, dropped.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_ends_and_its_handler_is_dropped() {
        assert_eq!(
            call("/test.Svc/Wait", Some("50m")).await,
            (Some(Code::DeadlineExceeded), true)
        );
        // Past its deadline at its first poll, the call never reaches its handler.
        assert_eq!(
            call("/test.Svc/Wait", Some("1n")).await,
            (Some(Code::DeadlineExceeded), false)
        );
    }

    #[tokio::test]
    async fn a_panic_fails_its_own_call_with_internal() {
        assert_eq!(
            call("/test.Svc/Panic", None).await,
            (Some(Code::Internal), true)
        );
        assert_eq!(
            call("/test.Svc/PanicLater", None).await,
            (Some(Code::Internal), true)
        );
    }

    #[tokio::test]
    async fn what_is_not_grpc_gets_415_and_reaches_no_handler() {
        let dropped = Arc::new(AtomicBool::new(false));
        let layer = CallsLayer::new(&["test.Svc"], limits(None));
        let mut service = layer.layer(Handler {
            dropped: Arc::clone(&dropped),
        });
        for content_type in [None, Some("text/plain"), Some("application/grpcx")] {
            let mut request = Request::builder().uri("/test.Svc/Echo");
            if let Some(content_type) = content_type {
                request = request.header(CONTENT_TYPE, content_type);
            }
            let response = service
                .call(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
        assert!(!dropped.load(Ordering::SeqCst), "no handler ran");
        for content_type in ["application/grpc", "application/grpc+proto"] {
            let request = Request::builder().header(CONTENT_TYPE, content_type);
            assert!(
                is_grpc(request.body(()).unwrap().headers()),
                "{content_type}"
            );
        }
    }

    #[test]
    fn grpc_timeouts_parse_by_the_spec() {
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout("1n"), Some(Duration::from_nanos(1)));
        assert_eq!(
            parse_timeout("99999999S"),
            Some(Duration::from_secs(99_999_999))
        );
        for bad in ["", "S", "1", "123456789S", "1.5S", "-1S", "10x", "１S"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_server_maximum_caps_the_clients_deadline() {
        let mut headers = HeaderMap::new();
        let max = Some(Duration::from_secs(30));
        assert_eq!(deadline(asked(&headers), max), max);
        assert_eq!(deadline(asked(&headers), None), None);
        headers.insert("grpc-timeout", "2S".parse().unwrap());
        assert_eq!(deadline(asked(&headers), max), Some(Duration::from_secs(2)));
        headers.insert("grpc-timeout", "1H".parse().unwrap());
        assert_eq!(deadline(asked(&headers), max), max);
        headers.insert("grpc-timeout", "soon".parse().unwrap());
        assert_eq!(deadline(asked(&headers), max), max);
    }
}
