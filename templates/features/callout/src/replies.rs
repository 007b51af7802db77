//! How a processor answers one of Envoy's streams: message by message, each reply produced when
//! Envoy polls for it (no task and no channel per stream). A panic in the callout fails only that
//! stream, never the connection that Envoy shares between streams: the server's call layer
//! catches it as it polls the replies.

use std::future::Future;
use std::pin::Pin;

use futures_util::{Stream, StreamExt as _, stream};
use tonic::{Status, Streaming};
use tracing::debug;

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
            match responder.respond(message).await {
                None => {}
                Some(Ok(reply)) => return Some((Ok(reply), Some((messages, responder)))),
                Some(Err(status)) => return Some((Err(status), None)),
            }
        }
    });
    Box::pin(replies.fuse())
}
