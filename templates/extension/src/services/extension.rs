//! `protos.DataExtension/ExtensionData`: authenticate the caller, parse the request, and hand it
//! to [`crate::process`]. Every failure is its own status with its own message.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::access::{AccessPolicy, AccessToken, Denied};
use crate::auth::{TokenError, Verifier};
use crate::config::Config;
use crate::process::{self, Input, RequestConfig};
use crate::proto::protos::data_extension_server::DataExtension;
use crate::proto::protos::{ExtensionRequest, ExtensionResponse};
use crate::token_cache::TokenCache;

/// The actions a request can ask for.
const ACTIONS: &str = "`process`, `skip`";

/// The `DataExtension` service.
#[derive(Debug)]
pub struct Extension {
    verifier: Verifier,
    policy: AccessPolicy,
    cache: TokenCache<AccessToken>,
}

impl Extension {
    pub fn new(key: DecodingKey, config: &Config) -> Self {
        Self {
            verifier: Verifier::new(Algorithm::RS256, key, &config.validation),
            policy: AccessPolicy::new(config.client_ids.iter().copied()),
            cache: TokenCache::new(config.token_cache_size),
        }
    }

    /// Verify `token` and its claims, or answer from the cache for a token verified before.
    fn authenticate(&self, token: &str) -> Result<AccessToken, Status> {
        if let Some(access) = self.cache.get(token) {
            return Ok(access);
        }
        let claims = self.verifier.verify(token).map_err(|err| match err {
            TokenError::Missing => Status::unauthenticated("missing token"),
            err => Status::unauthenticated(format!("invalid token: {err}")),
        })?;
        let access = self.policy.check(claims).map_err(|denied| match denied {
            Denied::NotAccess(_) => Status::unauthenticated(format!("invalid token: {denied}")),
            denied => Status::permission_denied(denied.to_string()),
        })?;
        self.cache.insert(token, access.clone(), access.expires_at);
        Ok(access)
    }
}

#[tonic::async_trait]
impl DataExtension for Extension {
    async fn extension_data(
        &self,
        request: Request<ExtensionRequest>,
    ) -> Result<Response<ExtensionResponse>, Status> {
        let request = request.into_inner();
        let access = self.authenticate(&request.token)?;
        let config = parse_config(&request.config_json)?;
        let data = parse_data(&request.data)?;
        tracing::debug!(
            client_id = access.client_id,
            action = request.action,
            records = data.len(),
            indicators = request.indicators.len(),
            "extension data"
        );
        match request.action.as_str() {
            "skip" => {}
            "process" => {
                let input = Input {
                    data,
                    indicators: request.indicators,
                    config,
                    access,
                };
                // A panic here fails this call only (the server's call layer catches it), and a
                // call that the client cancels stops here too.
                process::process(input).await.map_err(Status::from)?;
            }
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown action `{other}`; expected one of {ACTIONS}"
                )));
            }
        }
        Ok(Response::new(ExtensionResponse {}))
    }
}

/// `config_json` as a JSON object; empty means no settings.
fn parse_config(json: &str) -> Result<RequestConfig, Status> {
    if json.trim().is_empty() {
        return Ok(RequestConfig::default());
    }
    serde_json::from_str(json)
        .map_err(|err| Status::invalid_argument(format!("Invalid config_json: {err}")))
}

/// Each `data` element as a JSON document.
fn parse_data(data: &[String]) -> Result<Vec<Value>, Status> {
    data.iter()
        .enumerate()
        .map(|(index, record)| {
            serde_json::from_str(record).map_err(|err| {
                Status::invalid_argument(format!("data[{index}] is not valid JSON: {err}"))
            })
        })
        .collect()
}
