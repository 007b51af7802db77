//! The processor and the examples through the real gRPC service, as Envoy drives it: one stream
//! per connection, one message per chunk each way, and the exact reply checked for each. Then
//! the protos of reflection, against the wire that envoy-types encodes.

use envoy_types::pb::envoy::config::core::v3::Metadata;
use envoy_types::pb::envoy::service::network_ext_proc::v3::network_external_processor_client::NetworkExternalProcessorClient;
use envoy_types::pb::envoy::service::network_ext_proc::v3::processing_response::{
    ConnectionStatus, DataProcessedStatus,
};
use envoy_types::pb::envoy::service::network_ext_proc::v3::{
    Data, ProcessingRequest, ProcessingResponse,
};
use envoy_types::pb::google::protobuf::value::Kind;
use tokio::sync::mpsc;
use tonic::Streaming;

use super::examples::basic::Basic;
use super::{CalloutArgs, Example, FILE_DESCRIPTOR_SET};
use crate::callout::testing::{at, decode, nested, outbound, start};
use crate::server::ServerArgs;

/// Start a server running `example`, or [`Basic`] as the project's own callout, and return its
/// URL.
async fn serve(example: Option<Example>) -> String {
    let args: ServerArgs = clap::Parser::parse_from(["test"]);
    let services = CalloutArgs { example }.services(args.message_limits(), Basic);
    start(services.unwrap()).await
}

/// One TCP connection's stream, as Envoy opens it.
struct Connection {
    messages: mpsc::Sender<ProcessingRequest>,
    replies: Streaming<ProcessingResponse>,
}

impl Connection {
    async fn open(server: &str) -> Self {
        let mut client = NetworkExternalProcessorClient::connect(server.to_owned())
            .await
            .unwrap();
        let (messages, stream) = outbound();
        let replies = client.process(stream).await.unwrap().into_inner();
        Self { messages, replies }
    }

    async fn send(&mut self, message: ProcessingRequest) -> ProcessingResponse {
        self.messages.send(message).await.unwrap();
        let reply = self.replies.message().await.unwrap();
        reply.expect("the server ended the stream")
    }

    /// Send bytes from the client, and return the reply.
    async fn read(&mut self, bytes: &str, end_of_stream: bool) -> ProcessingResponse {
        let message = ProcessingRequest {
            read_data: Some(data(bytes, end_of_stream)),
            ..ProcessingRequest::default()
        };
        self.send(message).await
    }

    /// Send bytes from the upstream, and return the reply.
    async fn write(&mut self, bytes: &str, end_of_stream: bool) -> ProcessingResponse {
        let message = ProcessingRequest {
            write_data: Some(data(bytes, end_of_stream)),
            ..ProcessingRequest::default()
        };
        self.send(message).await
    }
}

fn data(bytes: &str, end_of_stream: bool) -> Data {
    Data {
        data: bytes.as_bytes().to_vec(),
        end_of_stream,
    }
}

/// The reply that sends `bytes` on, client to upstream.
fn read_reply(bytes: &str, end_of_stream: bool, status: DataProcessedStatus) -> ProcessingResponse {
    ProcessingResponse {
        read_data: Some(data(bytes, end_of_stream)),
        data_processing_status: status.into(),
        ..ProcessingResponse::default()
    }
}

/// The reply that sends `bytes` on, upstream to client.
fn write_reply(
    bytes: &str,
    end_of_stream: bool,
    status: DataProcessedStatus,
) -> ProcessingResponse {
    ProcessingResponse {
        write_data: Some(data(bytes, end_of_stream)),
        data_processing_status: status.into(),
        ..ProcessingResponse::default()
    }
}

/// The seed's basic callout, as `--example basic` and as the project's own callout.
#[tokio::test]
async fn basic_passes_every_chunk_through_unchanged() {
    for server in [serve(Some(Example::Basic)).await, serve(None).await] {
        let mut connection = Connection::open(&server).await;
        let unmodified = DataProcessedStatus::Unmodified;
        assert_eq!(
            connection.read("GET / HTTP/1.0\r\n", false).await,
            read_reply("GET / HTTP/1.0\r\n", false, unmodified)
        );
        assert_eq!(
            connection.write("HTTP/1.0 200 OK\r\n", false).await,
            write_reply("HTTP/1.0 200 OK\r\n", false, unmodified)
        );
        assert_eq!(
            connection.read("", true).await,
            read_reply("", true, unmodified)
        );
        assert_eq!(
            connection.write("bye", true).await,
            write_reply("bye", true, unmodified)
        );
    }
}

#[tokio::test]
async fn rewrite_changes_bytes_both_ways() {
    let server = serve(Some(Example::Rewrite)).await;
    let mut connection = Connection::open(&server).await;
    let modified = DataProcessedStatus::Modified;
    let reply = connection.read("Hello, upstream\n", false).await;
    let metadata = reply.dynamic_metadata.clone().unwrap();
    let Some(Kind::StructValue(namespace)) = &metadata.fields["callout"].kind else {
        panic!("the namespace is not a Struct: {metadata:?}");
    };
    assert_eq!(
        namespace.fields["rewritten_bytes"].kind,
        Some(Kind::NumberValue(16.0))
    );
    assert_eq!(
        reply,
        ProcessingResponse {
            dynamic_metadata: Some(metadata),
            ..read_reply("HELLO, UPSTREAM\n", false, modified)
        }
    );
    assert_eq!(
        connection.write("HELLO, CLIENT\n", true).await,
        write_reply("hello, client\n", true, modified)
    );
}

#[tokio::test]
async fn rewrite_closes_the_connection_on_quit() {
    let server = serve(Some(Example::Rewrite)).await;
    let mut connection = Connection::open(&server).await;
    let reply = connection.read("hello\nquit\n", false).await;
    assert_eq!(
        reply,
        ProcessingResponse {
            connection_status: ConnectionStatus::Close.into(),
            ..read_reply("hello\nquit\n", false, DataProcessedStatus::Unmodified)
        }
    );
}

/// A message without data, such as a newer Envoy's `new_connection`, is answered CONTINUE, and
/// the connection goes on.
#[tokio::test]
async fn a_message_without_data_is_answered_and_the_connection_goes_on() {
    let server = serve(Some(Example::Basic)).await;
    let mut connection = Connection::open(&server).await;
    let reply = connection.send(ProcessingRequest::default()).await;
    assert_eq!(reply, ProcessingResponse::default());
    let reply = connection.read("still fine", false).await;
    assert_eq!(
        reply,
        read_reply("still fine", false, DataProcessedStatus::Unmodified)
    );
}

/// `slow_lookup` answers a write at once, while the read that came first still waits: a slow
/// read does not hold up writes.
#[tokio::test]
async fn a_slow_read_does_not_hold_up_writes() {
    let server = serve(Some(Example::SlowLookup)).await;
    let mut connection = Connection::open(&server).await;
    let unmodified = DataProcessedStatus::Unmodified;
    for message in [
        ProcessingRequest {
            read_data: Some(data("from the client", false)),
            ..ProcessingRequest::default()
        },
        ProcessingRequest {
            write_data: Some(data("greeting", false)),
            ..ProcessingRequest::default()
        },
    ] {
        connection.messages.send(message).await.unwrap();
    }
    let first = connection.replies.message().await.unwrap().unwrap();
    assert_eq!(first, write_reply("greeting", false, unmodified));
    let second = connection.replies.message().await.unwrap().unwrap();
    assert_eq!(second, read_reply("from the client", false, unmodified));
}

#[test]
fn the_protos_describe_a_request_with_both_directions_and_its_context() {
    let request = ProcessingRequest {
        read_data: Some(data("from the client", false)),
        write_data: Some(data("from the upstream", true)),
        metadata: Some(Metadata {
            filter_metadata: [("ns".to_owned(), nested("connection", "id", "7"))].into(),
            ..Metadata::default()
        }),
        attributes: [(
            "envoy.filters.network.ext_proc".to_owned(),
            nested("source", "address", "10.0.0.1:5000"),
        )]
        .into(),
    };
    let decoded = decode(
        FILE_DESCRIPTOR_SET,
        "envoy.service.network_ext_proc.v3.ProcessingRequest",
        &request,
    );
    for (path, expected) in [
        ("read_data/data", "from the client"),
        ("read_data/end_of_stream", "false"),
        ("write_data/data", "from the upstream"),
        ("write_data/end_of_stream", "true"),
        (
            "metadata/filter_metadata/ns/fields/connection/struct_value/fields/id/string_value",
            "7",
        ),
        (
            "attributes/envoy.filters.network.ext_proc/fields/source/struct_value/fields/address/string_value",
            "10.0.0.1:5000",
        ),
    ] {
        assert_eq!(at(&decoded, path), expected, "{path}");
    }
}

#[test]
fn the_protos_describe_a_response_that_rewrites_and_closes() {
    let response = ProcessingResponse {
        read_data: Some(data("REWRITTEN", true)),
        write_data: Some(data("back", false)),
        data_processing_status: DataProcessedStatus::Modified.into(),
        connection_status: ConnectionStatus::CloseRst.into(),
        dynamic_metadata: Some(nested("callout", "rewritten_bytes", "9")),
        close_stream_to_ext_proc_server: true,
    };
    let decoded = decode(
        FILE_DESCRIPTOR_SET,
        "envoy.service.network_ext_proc.v3.ProcessingResponse",
        &response,
    );
    for (path, expected) in [
        ("read_data/data", "REWRITTEN"),
        ("read_data/end_of_stream", "true"),
        ("write_data/data", "back"),
        ("data_processing_status", "MODIFIED"),
        ("connection_status", "CLOSE_RST"),
        (
            "dynamic_metadata/fields/callout/struct_value/fields/rewritten_bytes/string_value",
            "9",
        ),
        ("close_stream_to_ext_proc_server", "true"),
    ] {
        assert_eq!(at(&decoded, path), expected, "{path}");
    }
}
