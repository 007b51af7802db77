//! The business logic: this is your file. `process` runs for every request whose action is
//! `process`, after the token, `config_json` and `data` have been checked.

use serde::Deserialize;
use serde_json::{Map, Value};
use tonic::Status;

use crate::access::AccessToken;

/// Everything a request brings, parsed and verified.
#[derive(Debug)]
pub struct Input {
    /// The `data` records, each a JSON document.
    pub data: Vec<Value>,
    pub indicators: Vec<String>,
    pub config: RequestConfig,
    /// The caller, as its verified token says.
    pub access: AccessToken,
}

/// The settings of one request, from `config_json`. Add typed fields for the settings you use;
/// the rest stay in `other`.
#[derive(Debug, Default, Deserialize)]
pub struct RequestConfig {
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Why processing failed; each becomes a gRPC status.
#[derive(Debug)]
pub enum ProcessError {
    /// The request cannot be processed as it is: `INVALID_ARGUMENT`.
    InvalidInput(String),
    /// A dependency is down and a retry may work: `UNAVAILABLE`.
    Unavailable(String),
    /// Anything else: `INTERNAL`. The detail is logged, not sent.
    Internal(String),
}

impl From<ProcessError> for Status {
    fn from(err: ProcessError) -> Self {
        match err {
            ProcessError::InvalidInput(message) => Status::invalid_argument(message),
            ProcessError::Unavailable(message) => Status::unavailable(message),
            ProcessError::Internal(detail) => {
                tracing::error!(%detail, "processing failed");
                Status::internal("processing failed")
            }
        }
    }
}

/// Handle one request. This example accepts records that are JSON objects, and counts them.
pub async fn process(input: Input) -> Result<(), ProcessError> {
    if let Some(index) = input.data.iter().position(|record| !record.is_object()) {
        return Err(ProcessError::InvalidInput(format!(
            "data[{index}] must be a JSON object"
        )));
    }
    tracing::debug!(
        client_id = input.access.client_id,
        records = input.data.len(),
        indicators = ?input.indicators,
        settings = input.config.other.len(),
        "processed"
    );
    Ok(())
}
