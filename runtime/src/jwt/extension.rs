//! A data extension's framework: the settings ([`ExtensionArgs`]), the check of a request's
//! RS256 access token ([`Authenticator`]), the request as the business logic gets it
//! ([`Request`], parsed into an [`Input`]), its errors ([`ProcessError`]), and the development
//! tokens that the server accepts ([`TokenArgs`]).
//!
//! The project keeps the gRPC service, which its protos generate: it authenticates the token of
//! each request, then hands a [`Request`] to its business logic.
//!
//! ```
//! use grpc_scaffold_runtime::jwt::extension::{ProcessError, Request};
//!
//! /// The settings of one request, from `config_json`.
//! #[derive(Debug, Default, serde::Deserialize)]
//! struct Settings {
//!     threshold: Option<f64>,
//! }
//!
//! async fn dispatch(request: Request<Settings>) -> Result<(), ProcessError> {
//!     match request.action.as_str() {
//!         "process" => {
//!             let input = request.parse()?;
//!             tracing::debug!(records = input.data.len(), threshold = ?input.config.threshold);
//!             Ok(())
//!         }
//!         _ => Err(request.unknown_action(&["process"])),
//!     }
//! }
//! ```

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tonic::Status;

use super::access::{AccessPolicy, AccessToken, Denied, REQUIRED_SCOPE};
use super::auth::{TokenError, ValidationArgs, Verifier, excerpt, now};
use super::cache::TokenCache;
use super::public_keys::KeyArgs;

/// Who may call a data extension: its public keys, its clients, and how tokens are checked.
#[derive(Debug, Clone, clap::Args)]
pub struct ExtensionArgs {
    /// The public keys that verify tokens.
    #[command(flatten)]
    pub keys: KeyArgs,

    /// Client ids allowed to call, comma-separated
    #[arg(long, env = "CLIENT_IDS", value_delimiter = ',', required = true)]
    pub client_ids: Vec<i64>,

    /// How strictly tokens are checked, besides their signature.
    #[command(flatten)]
    pub validation: ValidationArgs,

    /// Verified tokens to remember, so that a reused token skips the RSA check (0: off)
    #[arg(long, env = "TOKEN_CACHE_SIZE", default_value_t = 10_000)]
    pub token_cache_size: u64,
}

/// Checks the access token of each request: its RS256 signature and registered claims, then
/// the access rules; a token that passed is remembered until its `exp`.
#[derive(Debug)]
pub struct Authenticator {
    verifier: Verifier,
    policy: AccessPolicy,
    cache: TokenCache<AccessToken>,
}

impl Authenticator {
    /// Load the keys of `args`: a bad key fails here, at startup, not on the first call.
    pub fn new(args: &ExtensionArgs) -> anyhow::Result<Self> {
        Ok(Self {
            verifier: Verifier::new(Algorithm::RS256, args.keys.load()?, &args.validation),
            policy: AccessPolicy::new(args.client_ids.iter().copied()),
            cache: TokenCache::new(args.token_cache_size),
        })
    }

    /// The caller that `token` proves, or the status to answer: `UNAUTHENTICATED` for a token
    /// that is missing or invalid, `PERMISSION_DENIED` for a client or scope that is refused.
    pub fn authenticate(&self, token: &str) -> Result<Arc<AccessToken>, Status> {
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

/// A request from a verified caller, as it came: [`Request::parse`] checks the rest, into the
/// request's settings `C` (from `config_json`) and its records.
#[derive(Debug)]
pub struct Request<C> {
    /// What to do: `process`, `skip`...
    pub action: String,
    /// The `data` records, each meant to be a JSON document.
    pub data: Vec<String>,
    /// The request's indicators.
    pub indicators: Vec<String>,
    /// The request's settings, as JSON text; empty means none.
    pub config_json: String,
    /// The caller, as its verified token says.
    pub access: Arc<AccessToken>,
    config: PhantomData<fn() -> C>,
}

/// Everything a request brings, parsed and verified.
#[derive(Debug)]
pub struct Input<C> {
    /// The `data` records, each a JSON document.
    pub data: Vec<Value>,
    /// The request's indicators.
    pub indicators: Vec<String>,
    /// The request's settings, from `config_json`.
    pub config: C,
    /// The caller, as its verified token says.
    pub access: Arc<AccessToken>,
}

impl<C> Request<C> {
    /// The request of the caller `access`, with the fields of its message.
    pub fn new(
        action: String,
        data: Vec<String>,
        indicators: Vec<String>,
        config_json: String,
        access: Arc<AccessToken>,
    ) -> Self {
        Self {
            action,
            data,
            indicators,
            config_json,
            access,
            config: PhantomData,
        }
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

impl<C: DeserializeOwned + Default> Request<C> {
    /// Parse `config_json` (empty, or a JSON object) and each `data` record (JSON).
    pub fn parse(self) -> Result<Input<C>, ProcessError> {
        let config = if self.config_json.trim().is_empty() {
            C::default()
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

/// A development access token that [`Authenticator`] accepts: its signing key and its claims.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// RSA private key, as PEM
    #[arg(long, default_value = "dev-keys/private.pem")]
    pub private_key: PathBuf,

    /// The `client_id` claim; must be in the server's CLIENT_IDS
    #[arg(long, default_value_t = 1)]
    pub client_id: i64,

    /// Seconds until the token expires; negative for a token that has expired
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub ttl_secs: i64,

    /// The `iss` claim, if the server requires one
    #[arg(long)]
    pub issuer: Option<String>,

    /// The `aud` claim, if the server requires one
    #[arg(long)]
    pub audience: Option<String>,

    /// The key id (`kid`) in the header, for a server that has several keys
    #[arg(long)]
    pub kid: Option<String>,
}

impl TokenArgs {
    /// The token, signed with RS256 by `--private-key`.
    pub fn mint(&self) -> anyhow::Result<String> {
        let pem = std::fs::read(&self.private_key)
            .with_context(|| format!("failed to read `{}`", self.private_key.display()))?;
        let key =
            EncodingKey::from_rsa_pem(&pem).context("not an RSA private key in PEM format")?;
        let mut claims = json!({
            "client_id": self.client_id,
            "type": "access",
            "scopes": [REQUIRED_SCOPE],
            "iat": now(),
            "exp": now().saturating_add_signed(self.ttl_secs),
        });
        if let Some(issuer) = &self.issuer {
            claims["iss"] = issuer.as_str().into();
        }
        if let Some(audience) = &self.audience {
            claims["aud"] = audience.as_str().into();
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid.clone_from(&self.kid);
        Ok(jsonwebtoken::encode(&header, &claims, &key)?)
    }
}
