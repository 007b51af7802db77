//! `streaming.StreamingService/StreamData`: authenticate the caller from the `authorization`
//! metadata, then stream its greetings, paced by a timer. A stream costs no thread: thousands
//! run at once, and one whose client goes away is dropped, and stops, at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;
use tokio::time::MissedTickBehavior;
use tokio_stream::StreamExt as _;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::auth::{TokenError, Verifier, excerpt};
use crate::config::Config;
use crate::proto::streaming::streaming_service_server::StreamingService;
use crate::proto::streaming::{StreamDataRequest, StreamDataResponse};

/// The status messages of this API, which its clients may match on: keep them as they are.
const MISSING: &str = "Authorization token is missing";
const EXPIRED: &str = "Authorization token has expired";
const INVALID: &str = "Invalid authorization token";
const NO_USER: &str = "Invalid token payload";

/// The `StreamingService`.
#[derive(Debug)]
pub struct Streaming {
    verifier: Verifier,
    messages: u32,
    interval: Duration,
    active: Arc<AtomicUsize>,
}

impl Streaming {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let keys = config.secret.keys()?;
        Ok(Self {
            verifier: Verifier::new(Algorithm::HS256, keys, &config.validation),
            messages: config.stream_messages,
            interval: config.stream_interval(),
            active: Arc::default(),
        })
    }

    /// A live count of the streams being served.
    pub fn active_streams(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.active)
    }

    /// The user that the request's token names.
    fn authenticate<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let value = request.metadata().get("authorization").map(|v| v.to_str());
        let token = match value {
            None => "",
            Some(Ok(value)) => bearer(value),
            // Not visible ASCII: a value that is no token, rather than a missing one.
            Some(Err(_)) => return Err(Status::unauthenticated(INVALID)),
        };
        let claims = self.verifier.verify(token).map_err(|err| match err {
            TokenError::Missing => Status::unauthenticated(MISSING),
            TokenError::Expired => Status::unauthenticated(EXPIRED),
            _ => Status::unauthenticated(INVALID),
        })?;
        match claims.get("user_id") {
            Some(Value::String(user)) if !user.is_empty() => Ok(user.clone()),
            Some(Value::Number(user)) => Ok(user.to_string()),
            _ => Err(Status::unauthenticated(NO_USER)),
        }
    }
}

/// The token of an `authorization` value: raw, or after a `Bearer` scheme in any case.
fn bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => value.trim(),
    }
}

/// Counts a stream as active for as long as it lives, here and in the `streaming_open_streams`
/// gauge.
struct ActiveStream(Arc<AtomicUsize>);

impl ActiveStream {
    fn start(active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("streaming_open_streams").increment(1.0);
        Self(Arc::clone(active))
    }
}

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("streaming_open_streams").decrement(1.0);
    }
}

#[tonic::async_trait]
impl StreamingService for Streaming {
    async fn stream_data(
        &self,
        request: Request<StreamDataRequest>,
    ) -> Result<Response<BoxStream<StreamDataResponse>>, Status> {
        let user = self.authenticate(&request)?;
        let requested = request.into_inner().user_id;
        if !requested.is_empty() && requested != user {
            return Err(Status::permission_denied(format!(
                "user_id `{}` does not match the token's user",
                excerpt(&requested)
            )));
        }
        tracing::debug!(%user, messages = self.messages, "stream started");

        let active = ActiveStream::start(&self.active);
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sent = 0;
        let stream = futures_util::stream::unfold(ticks, |mut ticks| async move {
            ticks.tick().await;
            Some(((), ticks))
        })
        .take(self.messages as usize)
        .map(move |_| {
            // Owned by the stream: dropped, and uncounted, when the stream ends or is cancelled.
            let _active = &active;
            sent += 1;
            Ok(StreamDataResponse {
                message: format!("Hello {user}, this is message {sent}"),
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
