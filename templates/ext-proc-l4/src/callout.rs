//! The callout: one handler for each direction of a TCP connection, and the
//! `NetworkExternalProcessor` service that drives them.
//!
//! Envoy opens one stream per connection, and sends each chunk of bytes as it arrives: `read_data`
//! from the client, `write_data` from the upstream. It holds the chunk until the reply, and sends
//! on the bytes the reply carries, so every reply carries them, changed or not.

use std::future::Future;
use std::sync::Arc;

use envoy_types::pb::envoy::service::network_ext_proc::v3::network_external_processor_server::{
    NetworkExternalProcessor, NetworkExternalProcessorServer,
};
use envoy_types::pb::envoy::service::network_ext_proc::v3::processing_response::{
    ConnectionStatus, DataProcessedStatus,
};
use envoy_types::pb::envoy::service::network_ext_proc::v3::{
    Data, ProcessingRequest, ProcessingResponse,
};
use envoy_types::pb::google::protobuf::Struct;
use tonic::{Request, Response, Status, Streaming};

use crate::replies::{Replies, Respond, replies};

/// What a handler decides about one chunk of bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The bytes to send on instead of the chunk; `None` sends the chunk unchanged.
    pub data: Option<Vec<u8>>,
    /// Whether the connection goes on, or is closed (FIN) or reset (RST).
    pub connection: ConnectionStatus,
    /// Dynamic metadata for the connection, for Envoy's other filters and access logs.
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

    /// Then close the connection, flushing what is already on its way (FIN).
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

    /// With dynamic metadata for the connection.
    pub fn with_metadata(self, metadata: Struct) -> Self {
        Self {
            dynamic_metadata: Some(metadata),
            ..self
        }
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

/// Your callout: override the directions you care about; the others pass bytes through.
///
/// `State` lives for one connection, across all its chunks both ways.
pub trait NetworkCallout: Send + Sync + 'static {
    /// Per-connection state, created with `Default` when Envoy opens the connection's stream.
    type State: Default + Send + 'static;

    fn on_read_data(
        &self,
        _data: &Data,
        _state: &mut Self::State,
    ) -> impl Future<Output = Outcome> + Send {
        async { Outcome::pass() }
    }

    fn on_write_data(
        &self,
        _data: &Data,
        _state: &mut Self::State,
    ) -> impl Future<Output = Outcome> + Send {
        async { Outcome::pass() }
    }

    /// Handle one chunk: `data`, going `direction`, taken out of `_message`. The default calls
    /// the direction's handler; override it to read the rest of the message (`metadata`,
    /// `attributes`), and build the reply with [`Outcome::answer`].
    fn process(
        &self,
        direction: Direction,
        data: Data,
        _message: &ProcessingRequest,
        state: &mut Self::State,
    ) -> impl Future<Output = ProcessingResponse> + Send {
        async move {
            let outcome = match direction {
                Direction::Read => self.on_read_data(&data, state).await,
                Direction::Write => self.on_write_data(&data, state).await,
            };
            outcome.answer(direction, data)
        }
    }
}

/// The `envoy.service.network_ext_proc.v3.NetworkExternalProcessor` service around a
/// [`NetworkCallout`].
#[derive(Debug)]
pub struct Processor<C> {
    callout: Arc<C>,
}

impl<C: NetworkCallout> Processor<C> {
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

/// One connection's stream: the callout, and the connection's state.
struct Exchange<C: NetworkCallout> {
    callout: Arc<C>,
    state: C::State,
}

impl<C: NetworkCallout> Respond<ProcessingRequest> for Exchange<C> {
    type Reply = ProcessingResponse;

    async fn respond(
        &mut self,
        mut message: ProcessingRequest,
    ) -> Option<Result<ProcessingResponse, Status>> {
        let (direction, data) = match (message.read_data.take(), message.write_data.take()) {
            (Some(data), None) => (Direction::Read, data),
            (None, Some(data)) => (Direction::Write, data),
            _ => {
                let status = Status::invalid_argument(
                    "a ProcessingRequest needs one of read_data and write_data",
                );
                return Some(Err(status));
            }
        };
        let name = match direction {
            Direction::Read => "read",
            Direction::Write => "write",
        };
        metrics::counter!("network_ext_proc_messages_total", "direction" => name).increment(1);
        let response = self
            .callout
            .process(direction, data, &message, &mut self.state)
            .await;
        Some(Ok(response))
    }
}

#[tonic::async_trait]
impl<C: NetworkCallout> NetworkExternalProcessor for Processor<C> {
    type ProcessStream = Replies<ProcessingResponse>;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Self::ProcessStream>, Status> {
        let exchange = Exchange {
            callout: Arc::clone(&self.callout),
            state: C::State::default(),
        };
        Ok(Response::new(replies(request.into_inner(), exchange)))
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::google::protobuf::Value;
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
        let metadata = Struct {
            fields: [(
                "seen".to_owned(),
                Value {
                    kind: Some(Kind::BoolValue(true)),
                },
            )]
            .into(),
        };
        let reply = Outcome::replace("other")
            .reset()
            .with_metadata(metadata.clone())
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
        assert_eq!(reply.dynamic_metadata, Some(metadata));
    }
}
