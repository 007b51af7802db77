//! JSON Web Tokens: their checks, the keys that verify them and how those rotate, a cache of
//! verified tokens, and a data extension's access rules and requests.
//!
//! - [`auth`]: the [`Verifier`](auth::Verifier) of one algorithm, which tells every failure
//!   apart ([`TokenError`](auth::TokenError)), and how strictly it checks
//!   ([`ValidationArgs`](auth::ValidationArgs)).
//! - [`keys`]: the keys by key id (`kid`), and a default key, for rotation.
//! - [`public_keys`]: RS256 public keys from PEM text, files, a folder or a JWKS file.
//! - [`secrets`]: HS256 secrets from a flag, a file or a JWKS file, none too short.
//! - [`cache`]: verified tokens, each until its `exp`.
//! - [`access`]: the claims an access token needs: its type, its client, its scope.
//! - [`extension`]: a data extension's settings, authentication, requests and errors.
//!
//! ```
//! use clap::Parser as _;
//! use grpc_scaffold_runtime::jwt::auth::{TokenError, ValidationArgs, Verifier, now};
//! use grpc_scaffold_runtime::jwt::jsonwebtoken::{self, Algorithm, DecodingKey, EncodingKey};
//!
//! #[derive(clap::Parser)]
//! struct Settings {
//!     #[command(flatten)]
//!     validation: ValidationArgs,
//! }
//!
//! let secret = b"a secret of at least thirty-two bytes";
//! let settings = Settings::parse_from(["server", "--jwt-issuer", "platform"]);
//! let key = DecodingKey::from_secret(secret);
//! let verifier = Verifier::new(Algorithm::HS256, key.into(), &settings.validation);
//!
//! let claims = serde_json::json!({ "sub": "ada", "iss": "platform", "exp": now() + 60 });
//! let header = jsonwebtoken::Header::new(Algorithm::HS256);
//! let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))?;
//! assert_eq!(verifier.verify(&token)?["sub"], "ada");
//! assert_eq!(verifier.verify(""), Err(TokenError::Missing));
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

pub mod access;
pub mod auth;
pub mod cache;
pub mod extension;
pub mod keys;
pub mod public_keys;
mod ring_rsa;
pub mod secrets;

/// The JWT library whose types this module takes: its [`Algorithm`](jsonwebtoken::Algorithm)
/// and keys, and its encoder, for a project to mint tokens that verify.
pub use jsonwebtoken;
