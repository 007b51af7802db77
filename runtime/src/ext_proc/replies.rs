//! How a processor answers one of Envoy's streams: message by message, each reply produced when
//! Envoy polls for it (no task and no channel per stream). A message may get any number of
//! replies, and one sent before its handler runs (a timeout extension). A panic in the callout
//! fails only that stream, never the connection that Envoy shares between streams: the server's
//! call layer catches it as it polls the replies.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use futures_util::{Stream, StreamExt as _, stream};
use tonic::{Status, Streaming};
use tracing::debug;

/// The replies of one stream.
pub type Replies<R> = Pin<Box<dyn Stream<Item = Result<R, Status>> + Send>>;

/// What answers one stream's messages, and keeps its state between them.
pub trait Respond<M>: Send + 'static {
    /// The message that answers.
    type Reply: Send + 'static;

    /// A reply to send at once, before `message` is handled.
    fn before(&mut self, message: &mut M) -> Option<Self::Reply>;

    /// The replies to `message`, pushed onto `out` (none, one or more); an error ends the stream.
    fn respond(
        &mut self,
        message: M,
        out: &mut VecDeque<Self::Reply>,
    ) -> impl Future<Output = Result<(), Status>> + Send;
}

/// One stream, between polls.
struct Driver<M, A: Respond<M>> {
    messages: Streaming<M>,
    responder: A,
    /// Replies made and not yet sent.
    queue: VecDeque<A::Reply>,
    /// A message whose early reply went first, to handle next.
    pending: Option<M>,
}

/// Answer each message of `messages` with `responder`, until Envoy ends the stream.
pub fn replies<M, A>(messages: Streaming<M>, responder: A) -> Replies<A::Reply>
where
    M: Send + 'static,
    A: Respond<M>,
{
    let driver = Driver {
        messages,
        responder,
        queue: VecDeque::new(),
        pending: None,
    };
    let replies = stream::unfold(Some(driver), |driver| async move {
        let mut driver = driver?;
        loop {
            if let Some(reply) = driver.queue.pop_front() {
                return Some((Ok(reply), Some(driver)));
            }
            let message = match driver.pending.take() {
                Some(message) => message,
                None => {
                    let mut message = match driver.messages.message().await {
                        Ok(Some(message)) => message,
                        Ok(None) => return None,
                        Err(status) => {
                            debug!(%status, "Envoy ended the stream");
                            return None;
                        }
                    };
                    if let Some(early) = driver.responder.before(&mut message) {
                        driver.pending = Some(message);
                        return Some((Ok(early), Some(driver)));
                    }
                    message
                }
            };
            if let Err(status) = driver.responder.respond(message, &mut driver.queue).await {
                return Some((Err(status), None));
            }
        }
    });
    Box::pin(replies.fuse())
}
