//! The `NetworkCallout` trait, with one handler for each direction of a TCP connection, and the
//! `NetworkExternalProcessor` service that drives a callout.
//!
//! Envoy opens one stream per connection, and sends each chunk of bytes as it arrives: `read_data`
//! from the client, `write_data` from the upstream. It holds the chunk until the reply, and sends
//! on the bytes the reply carries, so every reply carries them, changed or not. The two
//! directions are handled independently: a slow read does not hold up the writes, and each
//! direction's chunks are answered in order.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use envoy_types::pb::envoy::service::network_ext_proc::v3::network_external_processor_server::{
    NetworkExternalProcessor, NetworkExternalProcessorServer,
};
use envoy_types::pb::envoy::service::network_ext_proc::v3::processing_response::{
    ConnectionStatus, DataProcessedStatus,
};
use envoy_types::pb::envoy::service::network_ext_proc::v3::{
    Data, ProcessingRequest, ProcessingResponse,
};
use envoy_types::pb::google::protobuf::{Struct, Value};
use futures_util::Stream;
use tonic::{Request, Response, Status, Streaming};
use tracing::debug;

use crate::callout::insert_metadata;

/// What a handler decides about one chunk of bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The bytes to send on instead of the chunk; `None` sends the chunk unchanged.
    pub data: Option<Vec<u8>>,
    /// Whether the connection goes on, or is closed (FIN) or reset (RST).
    pub connection: ConnectionStatus,
    /// Dynamic metadata for the connection, for Envoy's other filters and access logs: one
    /// Struct per namespace (see [`Outcome::metadata`]).
    pub dynamic_metadata: Option<Struct>,
}

impl Outcome {
    /// Send the chunk on unchanged.
    pub fn pass() -> Self {
        Self::default()
    }

    /// Send `data` on instead of the chunk.
    pub fn replace(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: Some(data.into()),
            ..Self::default()
        }
    }

    /// Then close the connection (FIN). Envoy closes on this reply without sending its bytes on:
    /// bytes that must arrive go in an earlier reply.
    pub fn close(self) -> Self {
        Self {
            connection: ConnectionStatus::Close,
            ..self
        }
    }

    /// Then reset the connection at once (RST).
    pub fn reset(self) -> Self {
        Self {
            connection: ConnectionStatus::CloseRst,
            ..self
        }
    }

    /// With dynamic metadata for the connection: `value` under `key` in `namespace`. Envoy keeps
    /// only the namespaces listed in its filter's `metadata_options.receiving_namespaces`.
    pub fn metadata(mut self, namespace: &str, key: &str, value: Value) -> Self {
        insert_metadata(&mut self.dynamic_metadata, namespace, key, value);
        self
    }

    /// The reply to `chunk` that carries this outcome, in `read_data` or `write_data` as
    /// `direction` says.
    pub fn answer(self, direction: Direction, chunk: Data) -> ProcessingResponse {
        let (status, data) = match self.data {
            Some(data) => (DataProcessedStatus::Modified, data),
            None => (DataProcessedStatus::Unmodified, chunk.data),
        };
        let data = Some(Data {
            data,
            end_of_stream: chunk.end_of_stream,
        });
        let (read_data, write_data) = match direction {
            Direction::Read => (data, None),
            Direction::Write => (None, data),
        };
        ProcessingResponse {
            read_data,
            write_data,
            data_processing_status: status.into(),
            connection_status: self.connection.into(),
            dynamic_metadata: self.dynamic_metadata,
            ..ProcessingResponse::default()
        }
    }
}

/// Which way a chunk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the upstream.
    Read,
    /// From the upstream to the client.
    Write,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// Your callout: override the directions you care about; the others pass bytes through.
///
/// `State` lives for one connection, shared by both directions, whose handlers may run at the
/// same time: keep it in atomics or a lock.
pub trait NetworkCallout: Send + Sync + 'static {
    /// Per-connection state, created with `Default` when Envoy opens the connection's stream.
    type State: Default + Send + Sync + 'static;

    /// Bytes from the client, on their way to the upstream.
    fn on_read_data(
        &self,
        _data: &Data,
        _state: &Self::State,
    ) -> impl Future<Output = Outcome> + Send {
        async { Outcome::pass() }
    }

    /// Bytes from the upstream, on their way to the client.
    fn on_write_data(
        &self,
        _data: &Data,
        _state: &Self::State,
    ) -> impl Future<Output = Outcome> + Send {
        async { Outcome::pass() }
    }
}

/// The `envoy.service.network_ext_proc.v3.NetworkExternalProcessor` service around a
/// [`NetworkCallout`].
#[derive(Debug)]
pub struct Processor<C> {
    callout: Arc<C>,
}

impl<C: NetworkCallout> Processor<C> {
    /// The service around `callout`.
    pub fn new(callout: C) -> Self {
        Self {
            callout: Arc::new(callout),
        }
    }

    /// The tonic service, ready to add to the server.
    pub fn into_service(self) -> NetworkExternalProcessorServer<Self> {
        NetworkExternalProcessorServer::new(self)
    }
}

/// A reply on its way: the handler's work for one chunk.
type Pending = Pin<Box<dyn Future<Output = ProcessingResponse> + Send>>;

/// One direction's chunks, answered in order.
#[derive(Default)]
struct Lane(VecDeque<Pending>);

impl Lane {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<ProcessingResponse>> {
        let Some(first) = self.0.front_mut() else {
            return Poll::Ready(None);
        };
        let reply = std::task::ready!(first.as_mut().poll(cx));
        self.0.pop_front();
        Poll::Ready(Some(reply))
    }
}

/// One connection's stream: its messages, the replies on their way each direction, and the
/// connection's state. Its replies are made as Envoy polls for them, so a panic in a handler is
/// caught by the server's call layer and fails this connection alone.
struct Connection<C: NetworkCallout> {
    messages: Streaming<ProcessingRequest>,
    /// Whether Envoy may send more messages.
    open: bool,
    callout: Arc<C>,
    state: Arc<C::State>,
    read: Lane,
    write: Lane,
    /// Answers to messages without data, sent as they come.
    other: VecDeque<ProcessingResponse>,
    /// Which lane goes first on the next poll, so that neither starves the other.
    write_first: bool,
}

impl<C: NetworkCallout> Connection<C> {
    fn take_in(&mut self, message: ProcessingRequest) {
        let mut known = false;
        for (direction, data) in [
            (Direction::Read, message.read_data),
            (Direction::Write, message.write_data),
        ] {
            let Some(data) = data else { continue };
            known = true;
            metrics::counter!("network_ext_proc_messages_total", "direction" => direction.name())
                .increment(1);
            let (callout, state) = (Arc::clone(&self.callout), Arc::clone(&self.state));
            let lane = match direction {
                Direction::Read => &mut self.read,
                Direction::Write => &mut self.write,
            };
            lane.0.push_back(Box::pin(async move {
                let outcome = match direction {
                    Direction::Read => callout.on_read_data(&data, &state).await,
                    Direction::Write => callout.on_write_data(&data, &state).await,
                };
                outcome.answer(direction, data)
            }));
        }
        if !known {
            // A message of a newer Envoy (such as `new_connection`): go on, and change nothing.
            metrics::counter!("network_ext_proc_messages_total", "direction" => "other")
                .increment(1);
            debug!("a message without data; answered CONTINUE");
            self.other.push_back(ProcessingResponse::default());
        }
    }
}

impl<C: NetworkCallout> Stream for Connection<C> {
    type Item = Result<ProcessingResponse, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while this.open {
            match Pin::new(&mut this.messages).poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => this.take_in(message),
                Poll::Ready(Some(Err(status))) => {
                    debug!(%status, "Envoy ended the stream");
                    this.open = false;
                }
                Poll::Ready(None) => this.open = false,
                Poll::Pending => break,
            }
        }
        if let Some(reply) = this.other.pop_front() {
            return Poll::Ready(Some(Ok(reply)));
        }
        this.write_first = !this.write_first;
        let lanes = if this.write_first {
            [&mut this.write, &mut this.read]
        } else {
            [&mut this.read, &mut this.write]
        };
        let mut busy = false;
        for lane in lanes {
            match lane.poll_next(cx) {
                Poll::Ready(Some(reply)) => return Poll::Ready(Some(Ok(reply))),
                Poll::Ready(None) => {}
                Poll::Pending => busy = true,
            }
        }
        if this.open || busy {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

#[tonic::async_trait]
impl<C: NetworkCallout> NetworkExternalProcessor for Processor<C> {
    type ProcessStream = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Self::ProcessStream>, Status> {
        let connection = Connection {
            messages: request.into_inner(),
            open: true,
            callout: Arc::clone(&self.callout),
            state: Arc::default(),
            read: Lane::default(),
            write: Lane::default(),
            other: VecDeque::new(),
            write_first: false,
        };
        Ok(Response::new(Box::pin(connection)))
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::value::Kind;

    use super::*;

    fn chunk() -> Data {
        Data {
            data: b"bytes".to_vec(),
            end_of_stream: true,
        }
    }

    #[test]
    fn a_pass_carries_the_chunk_unchanged() {
        let reply = Outcome::pass().answer(Direction::Write, chunk());
        assert_eq!(reply.write_data, Some(chunk()));
        assert_eq!(reply.read_data, None);
        assert_eq!(
            reply.data_processing_status(),
            DataProcessedStatus::Unmodified
        );
        assert_eq!(reply.connection_status(), ConnectionStatus::Continue);
    }

    #[test]
    fn a_reset_with_metadata_carries_both() {
        let seen = Value {
            kind: Some(Kind::BoolValue(true)),
        };
        let reply = Outcome::replace("other")
            .reset()
            .metadata("callout", "seen", seen.clone())
            .answer(Direction::Read, chunk());
        let expected = Data {
            data: b"other".to_vec(),
            end_of_stream: true,
        };
        assert_eq!(reply.read_data, Some(expected));
        assert_eq!(
            reply.data_processing_status(),
            DataProcessedStatus::Modified
        );
        assert_eq!(reply.connection_status(), ConnectionStatus::CloseRst);
        // Envoy takes each top-level value as a namespace, and keeps it only if it is a Struct.
        let metadata = reply.dynamic_metadata.unwrap();
        let Some(Kind::StructValue(namespace)) = &metadata.fields["callout"].kind else {
            panic!("the namespace is not a Struct: {metadata:?}");
        };
        assert_eq!(namespace.fields["seen"], seen);
    }
}
