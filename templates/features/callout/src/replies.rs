//! How a processor answers one of Envoy's streams: message by message, each reply produced when
//! Envoy polls for it (no task and no channel per stream), and a panic in the callout failing
//! only that stream, never the connection that Envoy shares between streams.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::{FutureExt as _, Stream, StreamExt as _, stream};
use tonic::{Status, Streaming};
use tracing::{debug, error};

/// The replies of one stream.
pub type Replies<R> = Pin<Box<dyn Stream<Item = Result<R, Status>> + Send>>;

/// What answers one stream's messages, and keeps its state between them.
pub trait Respond<M>: Send + 'static {
    type Reply: Send + 'static;

    /// The reply to `message`: `None` sends nothing, and an error ends the stream.
    fn respond(
        &mut self,
        message: M,
    ) -> impl Future<Output = Option<Result<Self::Reply, Status>>> + Send;
}

/// Answer each message of `messages` with `responder`, until Envoy ends the stream.
pub fn replies<M, A>(messages: Streaming<M>, responder: A) -> Replies<A::Reply>
where
    M: Send + 'static,
    A: Respond<M>,
{
    let replies = stream::unfold(Some((messages, responder)), |stream| async move {
        let (mut messages, mut responder) = stream?;
        loop {
            let message = match messages.message().await {
                Ok(Some(message)) => message,
                Ok(None) => return None,
                Err(status) => {
                    debug!(%status, "Envoy ended the stream");
                    return None;
                }
            };
            let responded = AssertUnwindSafe(responder.respond(message))
                .catch_unwind()
                .await;
            match responded {
                Ok(None) => {}
                Ok(Some(Ok(reply))) => return Some((Ok(reply), Some((messages, responder)))),
                Ok(Some(Err(status))) => return Some((Err(status), None)),
                Err(_) => {
                    error!("the callout panicked; failing this stream");
                    return Some((Err(Status::internal("the callout failed")), None));
                }
            }
        }
    });
    Box::pin(replies.fuse())
}
