//! `tyk-empty ADDRESS`: a Tyk coprocess `Dispatcher` that returns each `Object` unchanged and
//! answers each event with an empty reply. No logging, health, metrics or limits: the bare
//! protocol.

use grpc_scaffold_runtime::tyk::proto::coprocess::dispatcher_server::{
    Dispatcher, DispatcherServer,
};
use grpc_scaffold_runtime::tyk::proto::coprocess::{Event, EventReply, Object};
use tonic::{Request, Response, Status};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Empty;

#[tonic::async_trait]
impl Dispatcher for Empty {
    async fn dispatch(&self, request: Request<Object>) -> Result<Response<Object>, Status> {
        Ok(Response::new(request.into_inner()))
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
