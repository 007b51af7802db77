//! JWT verification: one algorithm, keys chosen by the token's `kid`, `exp` required, `iss` and
//! `aud` checked, and every failure told apart, so that callers can answer with a precise status.
//!
//! Claims come back as a JSON map, so that a claim rule never hides an expired or badly signed
//! token behind a "missing field" error.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::keys::KeySet;

/// The verified claims of a token.
pub type Claims = Map<String, Value>;

/// How strictly tokens are checked, besides their signature.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidationArgs {
    /// Seconds of clock skew tolerated on `exp` and `nbf`
    #[arg(long, env = "JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,

    /// Require this `iss` claim
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Require this `aud` claim; unset, a token that has an `aud` is refused
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// No token was sent.
    Missing,
    /// Not a JWT: bad shape, base64 or JSON.
    Malformed,
    /// Signed with another algorithm than the one configured, `none` included; the `alg` as
    /// [`excerpt`] shows it.
    Algorithm(String),
    /// Its `kid` names no key, and there is no default key.
    UnknownKey,
    /// The signature does not match the key.
    Signature,
    /// Past `exp`.
    Expired,
    /// Before `nbf`.
    NotYetValid,
    /// A required claim (`exp`, or `iss` or `aud` when configured) is absent.
    MissingClaim(String),
    /// `iss` is not the configured issuer.
    Issuer,
    /// `aud` is not the configured audience, or is there when none is configured.
    Audience,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("token is missing"),
            Self::Malformed => f.write_str("token is malformed"),
            Self::Algorithm(alg) => write!(f, "token algorithm `{alg}` is not allowed"),
            Self::UnknownKey => f.write_str("token key id (`kid`) is not known"),
            Self::Signature => f.write_str("token signature is invalid"),
            Self::Expired => f.write_str("token has expired"),
            Self::NotYetValid => f.write_str("token is not valid yet"),
            Self::MissingClaim(claim) => write!(f, "token has no `{claim}` claim"),
            Self::Issuer => f.write_str("token issuer is not accepted"),
            Self::Audience => f.write_str("token audience is not accepted"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Verifies tokens signed with one algorithm, by the keys of a [`KeySet`].
pub struct Verifier {
    algorithm: Algorithm,
    keys: KeySet,
    validation: Validation,
    leeway: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys stay out of logs.
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Accept only `algorithm`, signed by one of `keys`.
    pub fn new(algorithm: Algorithm, keys: KeySet, args: &ValidationArgs) -> Self {
        super::ring_rsa::install();
        let mut validation = Validation::new(algorithm);
        // `exp` and `nbf` are checked here, since RFC 7519 allows fractional seconds in them
        // (and PyJWT writes them) while jsonwebtoken takes only integers.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut required = Vec::new();
        if let Some(issuer) = &args.jwt_issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        // With no audience set, jsonwebtoken refuses any token that has one (RFC 7519 4.1.3):
        // a token meant for another service is not for this one.
        if let Some(audience) = &args.jwt_audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Self {
            algorithm,
            keys,
            validation,
            leeway: args.jwt_leeway_secs,
        }
    }

    /// Check the signature and the registered claims of `token`, and return all its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| self.unreadable(token))?;
        if header.alg != self.algorithm {
            return Err(TokenError::Algorithm(excerpt(&format!("{:?}", header.alg))));
        }
        let key = self.keys.select(header.kid.as_deref())?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|err| self.classify(token, err.into_kind()))?
            .claims;
        let now = now();
        match numeric_date(&claims, "exp")? {
            None => return Err(TokenError::MissingClaim("exp".into())),
            Some(exp) if exp.saturating_add(self.leeway) <= now => return Err(TokenError::Expired),
            Some(_) => {}
        }
        if numeric_date(&claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    fn classify(&self, token: &str, kind: ErrorKind) -> TokenError {
        match kind {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            _ => self.unreadable(token),
        }
    }

    /// A header that jsonwebtoken cannot read: an `alg` it does not know (`none` among them),
    /// or no JWT at all.
    fn unreadable(&self, token: &str) -> TokenError {
        match header_algorithm(token) {
            Some(alg) if alg.parse::<Algorithm>().ok() != Some(self.algorithm) => {
                TokenError::Algorithm(excerpt(&alg))
            }
            _ => TokenError::Malformed,
        }
    }
}

/// The longest excerpt of a caller's text that a status message carries.
const EXCERPT_CHARS: usize = 32;

/// `text` as a status message may quote it: at most 32 characters, anything but visible ASCII
/// shown as `?`, and `...` when cut.
pub fn excerpt(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        shown.push_str("...");
    }
    shown
}

/// A NumericDate claim in whole seconds (fractions dropped), if present.
pub fn numeric_date(claims: &Claims, name: &str) -> Result<Option<u64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_f64().filter(|t| *t >= 0.0).map(|t| t as u64))
            .map(Some)
            .ok_or(TokenError::Malformed),
    }
}

/// The `alg` of a token's header, read without trusting anything else in it.
fn header_algorithm(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header = URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    Some(header.get("alg")?.as_str()?.to_owned())
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
