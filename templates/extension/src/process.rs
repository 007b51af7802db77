//! The business logic: this is your file. `dispatch` runs for every request whose token has been
//! verified, and picks the code for its `action`; `process` handles `process`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::services::extension::{Input, ProcessError, Request};

/// The settings of one request, from `config_json`. Add typed fields for the settings you use;
/// the rest stay in `other`.
#[derive(Debug, Default, Deserialize)]
pub struct RequestConfig {
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Run the request's action. To add an action, add an arm here.
pub async fn dispatch(request: Request) -> Result<(), ProcessError> {
    match request.action.as_str() {
        "process" => process(request.parse()?).await,
        // Answers at once: `data` and `config_json` are not even parsed.
        "skip" => Ok(()),
        _ => Err(request.unknown_action(&["process", "skip"])),
    }
}

/// Handle `process`. This example accepts records that are JSON objects, and counts them.
async fn process(input: Input) -> Result<(), ProcessError> {
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
