//! `tyk-empty ADDRESS`: a Tyk coprocess `Dispatcher` that returns each `Object` unchanged and
//! answers each event with an empty reply. No logging, health, metrics or limits: the bare
//! protocol. Only the hook named `Tagged` changes the `Object`, as the generated plugin's example
//! Pre hook does (the `X-Plugin: rust` header and the `plugin=rust` query parameter), so that the
//! benchmark can tell the gateway's work of applying those changes from the plugin's own.

use grpc_scaffold_runtime::tyk::proto::coprocess::dispatcher_server::{
    Dispatcher, DispatcherServer,
};
use grpc_scaffold_runtime::tyk::ObjectExt as _;
use grpc_scaffold_runtime::tyk::proto::coprocess::{Event, EventReply, Object};
use tonic::{Request, Response, Status};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Empty;

#[tonic::async_trait]
impl Dispatcher for Empty {
    async fn dispatch(&self, request: Request<Object>) -> Result<Response<Object>, Status> {
        let mut object = request.into_inner();
        if object.hook_name == "Tagged" {
            object.set_header("X-Plugin", "rust");
            object.add_param("plugin", "rust");
        }
        Ok(Response::new(object))
    }

    async fn dispatch_event(&self, _: Request<Event>) -> Result<Response<EventReply>, Status> {
        Ok(Response::new(EventReply {}))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args().nth(1).ok_or("usage: tyk-empty ADDRESS")?;
    tonic::transport::Server::builder()
        .add_service(DispatcherServer::new(Empty))
        .serve(address.parse()?)
        .await?;
    Ok(())
}
