//! `protos.DataExtension/ExtensionData`: authenticate the caller, then hand the request to
//! [`crate::process::dispatch`], which parses what its action needs. Every failure is its own
//! status with its own message.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::Value;
use tonic::{Response, Status};

use crate::access::{AccessPolicy, AccessToken, Denied};
use crate::auth::{TokenError, Verifier, excerpt};
use crate::config::Config;
use crate::keys::KeySet;
use crate::process::{self, RequestConfig};
use crate::proto::protos::data_extension_server::DataExtension;
use crate::proto::protos::{ExtensionRequest, ExtensionResponse};
use crate::token_cache::TokenCache;

/// The `DataExtension` service.
#[derive(Debug)]
pub struct Extension {
    verifier: Verifier,
    policy: AccessPolicy,
    cache: TokenCache<AccessToken>,
}

impl Extension {
    pub fn new(keys: KeySet, config: &Config) -> Self {
        Self {
            verifier: Verifier::new(Algorithm::RS256, keys, &config.validation),
            policy: AccessPolicy::new(config.client_ids.iter().copied()),
            cache: TokenCache::new(config.token_cache_size),
        }
    }

    /// Verify `token` and its claims, or answer from the cache for a token verified before.
    fn authenticate(&self, token: &str) -> Result<Arc<AccessToken>, Status> {
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
        let access = Arc::new(access);
        self.cache
            .insert(token, Arc::clone(&access), access.expires_at);
        Ok(access)
    }
}

#[tonic::async_trait]
impl DataExtension for Extension {
    async fn extension_data(
        &self,
        request: tonic::Request<ExtensionRequest>,
    ) -> Result<Response<ExtensionResponse>, Status> {
        let request = request.into_inner();
        let access = self.authenticate(&request.token)?;
        tracing::debug!(
            client_id = access.client_id,
            action = excerpt(&request.action),
            records = request.data.len(),
            indicators = request.indicators.len(),
            "extension data"
        );
        let request = Request {
            action: request.action,
            data: request.data,
            indicators: request.indicators,
            config_json: request.config_json,
            access,
        };
        // Runs in this call's own future: a panic fails this call only (the server's call layer
        // catches it), and a call that the client cancels stops here, at its next `.await`.
        process::dispatch(request).await?;
        Ok(Response::new(ExtensionResponse {}))
    }
}

/// A request from a verified caller, as it came: [`Request::parse`] checks the rest.
#[derive(Debug)]
pub struct Request {
    pub action: String,
    /// The `data` records, each meant to be a JSON document.
    pub data: Vec<String>,
    pub indicators: Vec<String>,
    /// The request's settings, as JSON text; empty means none.
    pub config_json: String,
    /// The caller, as its verified token says.
    pub access: Arc<AccessToken>,
}

/// Everything a request brings, parsed and verified.
#[derive(Debug)]
pub struct Input {
    /// The `data` records, each a JSON document.
    pub data: Vec<Value>,
    pub indicators: Vec<String>,
    pub config: RequestConfig,
    /// The caller, as its verified token says.
    pub access: Arc<AccessToken>,
}

impl Request {
    /// Parse `config_json` (empty, or a JSON object) and each `data` record (JSON).
    pub fn parse(self) -> Result<Input, ProcessError> {
        let config = if self.config_json.trim().is_empty() {
            RequestConfig::default()
        } else {
            serde_json::from_str(&self.config_json)
                .map_err(|err| ProcessError::InvalidInput(format!("Invalid config_json: {err}")))?
        };
        let data = self
            .data
            .iter()
            .enumerate()
            .map(|(index, record)| {
                serde_json::from_str(record).map_err(|err| {
                    ProcessError::InvalidInput(format!("data[{index}] is not valid JSON: {err}"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Input {
            data,
            indicators: self.indicators,
            config,
            access: self.access,
        })
    }

    /// The error for an action that is none of `known`.
    pub fn unknown_action(&self, known: &[&str]) -> ProcessError {
        let known: Vec<String> = known.iter().map(|action| format!("`{action}`")).collect();
        ProcessError::InvalidInput(format!(
            "unknown action `{}`; expected one of {}",
            excerpt(&self.action),
            known.join(", ")
        ))
    }
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
