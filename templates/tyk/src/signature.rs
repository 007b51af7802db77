//! HMAC request signatures, as the custom-auth example checks them:
//!
//! ```text
//! Date: Sun, 07 Jun 2026 20:51:35 GMT
//! Authorization: Signature keyId="client-1",algorithm="hmac-sha256",signature="<base64>"
//! ```
//!
//! The signature is the HMAC of `date: <Date header>` with the shared secret. The `Date` must be
//! within the allowed clock skew, so that a captured request cannot be replayed later, and the
//! comparison takes constant time.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Authorization` or no `Date` header: answer 401.
    Missing(&'static str),
    /// A header is there but cannot be read: answer 400.
    Malformed(String),
    /// The signature does not match, or the `Date` is too far off: answer 401.
    Invalid(&'static str),
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(header) => write!(f, "missing {header} header"),
            Self::Malformed(reason) => f.write_str(reason),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

/// A parsed `Authorization: Signature ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub key_id: String,
    pub algorithm: String,
    pub signature: Vec<u8>,
}

impl Signature {
    /// Parse the value of an `Authorization` header.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let malformed = |reason: &str| SignatureError::Malformed(reason.to_owned());
        let params = header
            .strip_prefix("Signature ")
            .ok_or_else(|| malformed("the Authorization scheme must be `Signature`"))?;
        let (mut key_id, mut algorithm, mut signature) = (None, None, None);
        for param in params.split(',') {
            let (name, value) = param
                .trim()
                .split_once('=')
                .ok_or_else(|| malformed("a signature parameter has no value"))?;
            let value = value.trim_matches('"').to_owned();
            match name {
                "keyId" => key_id = Some(value),
                "algorithm" => algorithm = Some(value),
                "signature" => signature = Some(value),
                _ => {}
            }
        }
        let signature = STANDARD
            .decode(signature.ok_or_else(|| malformed("the signature parameter is missing"))?)
            .map_err(|_| malformed("the signature is not base64"))?;
        Ok(Self {
            key_id: key_id.ok_or_else(|| malformed("the keyId parameter is missing"))?,
            algorithm: algorithm.ok_or_else(|| malformed("the algorithm parameter is missing"))?,
            signature,
        })
    }
}

/// Check a request's `Authorization` and `Date` headers with `secret`; the key id on success.
pub fn verify(
    authorization: Option<&str>,
    date: Option<&str>,
    secret: &[u8],
    max_skew: Duration,
) -> Result<String, SignatureError> {
    let signature =
        Signature::parse(authorization.ok_or(SignatureError::Missing("Authorization"))?)?;
    let date = date.ok_or(SignatureError::Missing("Date"))?;
    let sent = httpdate::parse_http_date(date)
        .map_err(|_| SignatureError::Malformed("the Date header is not an HTTP date".into()))?;
    let now = SystemTime::now();
    let skew = now
        .duration_since(sent)
        .or_else(|_| sent.duration_since(now))
        .unwrap_or_default();
    if skew > max_skew {
        return Err(SignatureError::Invalid(
            "the Date header is outside the allowed clock skew",
        ));
    }
    let signed = format!("date: {date}");
    let matches = match signature.algorithm.as_str() {
        "hmac-sha256" => check::<Hmac<Sha256>>(secret, &signed, &signature.signature),
        "hmac-sha512" => check::<Hmac<Sha512>>(secret, &signed, &signature.signature),
        other => {
            return Err(SignatureError::Malformed(format!(
                "algorithm `{other}` is not supported; use hmac-sha256 or hmac-sha512"
            )));
        }
    };
    if matches {
        Ok(signature.key_id)
    } else {
        Err(SignatureError::Invalid("the signature does not match"))
    }
}

/// Compare in constant time: `verify_slice` does not stop at the first differing byte.
fn check<M: Mac + hmac::digest::KeyInit>(secret: &[u8], signed: &str, signature: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(signed.as_bytes());
    mac.verify_slice(signature).is_ok()
}

/// The `Authorization` value that signs `date` (an HTTP date) with `secret`, as a client sends it.
pub fn sign(key_id: &str, date: &str, secret: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(format!("date: {date}").as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    format!(r#"Signature keyId="{key_id}",algorithm="hmac-sha256",signature="{signature}""#)
}
