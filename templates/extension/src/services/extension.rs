//! `protos.DataExtension/ExtensionData`: authenticate the caller, then hand the request to
//! [`crate::process::dispatch`], which parses what its action needs. The checks, the parsing and
//! the errors are grpc-scaffold-runtime's [`extension`] module's.

use grpc_scaffold_runtime::jwt::auth::excerpt;
use grpc_scaffold_runtime::jwt::extension::{self, Authenticator};
use tonic::{Response, Status};

use crate::process::{self, RequestConfig};
use crate::proto::protos::data_extension_server::DataExtension;
use crate::proto::protos::{ExtensionRequest, ExtensionResponse};

pub use extension::ProcessError;

/// A request from a verified caller, as it came: `parse` checks the rest.
pub type Request = extension::Request<RequestConfig>;

/// Everything a request brings, parsed and verified.
pub type Input = extension::Input<RequestConfig>;

/// The `DataExtension` service.
#[derive(Debug)]
pub struct Extension(pub Authenticator);

#[tonic::async_trait]
impl DataExtension for Extension {
    async fn extension_data(
        &self,
        request: tonic::Request<ExtensionRequest>,
    ) -> Result<Response<ExtensionResponse>, Status> {
        let request = request.into_inner();
        let access = self.0.authenticate(&request.token)?;
        tracing::debug!(
            client_id = access.client_id,
            action = excerpt(&request.action),
            records = request.data.len(),
            indicators = request.indicators.len(),
            "extension data"
        );
        let (action, data, indicators) = (request.action, request.data, request.indicators);
        let request = Request::new(action, data, indicators, request.config_json, access);
        // Runs in this call's own future: a panic fails this call only (the server's call layer
        // catches it), and a call that the client cancels stops here, at its next `.await`.
        process::dispatch(request).await?;
        Ok(Response::new(ExtensionResponse {}))
    }
}
