//! HTTP request signatures, in the scheme of the HTTP Signatures draft
//! (draft-cavage-http-signatures-12) that Tyk's own HMAC authentication follows:
//!
//! ```text
//! Date: Sun, 07 Jun 2026 20:51:35 GMT
//! Digest: SHA-256=<base64 of the body's SHA-256>
//! Authorization: Signature keyId="client-1",algorithm="hmac-sha256",
//!     headers="(request-target) host date digest",signature="<base64>"
//! ```
//!
//! The signature is the HMAC, with the secret of `keyId`, of one line per name in `headers`:
//! `(request-target): get /pets?status=sold`, then `host: ...`, `date: ...` and `digest: ...`.
//! A signature must cover the method and target, the host and the date, and the body's digest
//! whenever there is a body, so that a captured signature cannot be replayed against another
//! request. The `Date` must be within the allowed clock skew, and the comparison takes constant
//! time.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256, Sha512};

/// The headers that every signature must cover.
const REQUIRED: [&str; 3] = ["(request-target)", "host", "date"];

/// The shortest secret a key may have: as long as the output of HMAC-SHA256.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Authorization` or no `Date` header: answer 401.
    Missing(&'static str),
    /// A header is there but cannot be read, or the signature covers too little: answer 400.
    Malformed(String),
    /// An unknown key, a wrong signature or digest, or a `Date` too far off: answer 401.
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

impl std::error::Error for SignatureError {}

fn malformed(reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed(reason.into())
}

/// The secret of each key id. Its `Debug` shows the key ids only.
#[derive(Clone, Default)]
pub struct Keys(HashMap<String, Vec<u8>>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Keys {
    /// Keys from `KEY_ID=SECRET` entries. Every secret must have at least [`MIN_SECRET_LEN`]
    /// bytes, and a key id may appear once; the error names the key, never the secret.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for entry in entries {
            let (id, secret) = entry
                .split_once('=')
                .ok_or("an entry is not of the form KEY_ID=SECRET")?;
            let id = id.trim();
            if id.is_empty() {
                return Err("an entry has an empty key id".into());
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(format!(
                    "the secret of key `{id}` has {} bytes; use at least {MIN_SECRET_LEN} \
                     (for example `openssl rand -hex 32`)",
                    secret.len()
                ));
            }
            if keys
                .insert(id.to_owned(), secret.as_bytes().to_vec())
                .is_some()
            {
                return Err(format!("key `{id}` is given twice"));
            }
        }
        if keys.is_empty() {
            return Err("no keys are given".into());
        }
        Ok(Self(keys))
    }

    fn secret(&self, key_id: &str) -> Option<&[u8]> {
        self.0.get(key_id).map(Vec::as_slice)
    }
}

/// What a signature covers of a request, as the gateway passes it to the plugin.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, in any case.
    pub method: &'a str,
    /// The request target as the client sent it: path and query.
    pub target: &'a str,
    /// The request headers, by case-insensitive name.
    pub headers: &'a HashMap<String, String>,
    /// The raw body.
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// The string that the client signed over `headers`.
    fn signing_string(&self, headers: &[&str]) -> Result<String, SignatureError> {
        let mut lines = Vec::with_capacity(headers.len());
        for name in headers {
            let line = if *name == "(request-target)" {
                format!(
                    "{name}: {} {}",
                    self.method.to_ascii_lowercase(),
                    self.target
                )
            } else {
                let value = self
                    .header(name)
                    .ok_or_else(|| malformed(format!("the signed header `{name}` is missing")))?;
                format!("{name}: {value}")
            };
            lines.push(line);
        }
        Ok(lines.join("\n"))
    }
}

/// A parsed `Authorization: Signature ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The id of the key whose secret signed the request.
    pub key_id: String,
    /// `hmac-sha256` or `hmac-sha512`.
    pub algorithm: String,
    /// The names of the signed headers, in signing order and lower case.
    pub headers: Vec<String>,
    /// The signature, decoded from base64.
    pub signature: Vec<u8>,
}

impl Signature {
    /// Parse the value of an `Authorization` header.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let params = header
            .strip_prefix("Signature ")
            .ok_or_else(|| malformed("the Authorization scheme must be `Signature`"))?;
        let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
        for (name, value) in parameters(params)? {
            match name {
                "keyId" => key_id = Some(value),
                "algorithm" => algorithm = Some(value),
                "headers" => headers = Some(value),
                "signature" => signature = Some(value),
                _ => {}
            }
        }
        let signature = STANDARD
            .decode(signature.ok_or_else(|| malformed("the signature parameter is missing"))?)
            .map_err(|_| malformed("the signature is not base64"))?;
        let headers = headers
            .ok_or_else(|| malformed("the headers parameter is missing"))?
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        Ok(Self {
            key_id: key_id
                .ok_or_else(|| malformed("the keyId parameter is missing"))?
                .to_owned(),
            algorithm: algorithm
                .ok_or_else(|| malformed("the algorithm parameter is missing"))?
                .to_owned(),
            headers,
            signature,
        })
    }
}

/// The `name="value"` pairs of a signature header, split on the commas between them.
fn parameters(mut rest: &str) -> Result<Vec<(&str, &str)>, SignatureError> {
    let mut params = Vec::new();
    loop {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| malformed("a signature parameter has no value"))?;
        let quoted = after
            .strip_prefix('"')
            .ok_or_else(|| malformed("a signature parameter is not quoted"))?;
        let (value, after) = quoted
            .split_once('"')
            .ok_or_else(|| malformed("a signature parameter is not closed"))?;
        params.push((name.trim(), value));
        match after.trim_start().strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None if after.trim().is_empty() => return Ok(params),
            None => {
                return Err(malformed(
                    "signature parameters must be separated by commas",
                ));
            }
        }
    }
}

/// Check the signature of `request` against `keys`; the key id on success.
///
/// ```
/// use std::collections::HashMap;
/// use std::time::{Duration, SystemTime};
///
/// use grpc_scaffold_runtime::tyk::signature::{Keys, Request, sign, verify};
///
/// let secret = "a secret of at least thirty-two bytes";
/// let keys = Keys::from_entries([format!("client-1={secret}").as_str()])?;
/// let now = SystemTime::now();
/// let mut headers = HashMap::from([
///     ("Host".to_owned(), "api.example.com".to_owned()),
///     ("Date".to_owned(), httpdate::fmt_http_date(now)),
/// ]);
/// fn request(headers: &HashMap<String, String>) -> Request<'_> {
///     Request { method: "GET", target: "/pets", headers, body: b"" }
/// }
/// let authorization = sign("client-1", &request(&headers), secret.as_bytes())?;
/// headers.insert("Authorization".to_owned(), authorization);
///
/// let skew = Duration::from_secs(300);
/// assert_eq!(verify(&request(&headers), &keys, skew, now)?, "client-1");
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub fn verify(
    request: &Request<'_>,
    keys: &Keys,
    max_skew: Duration,
    now: SystemTime,
) -> Result<String, SignatureError> {
    let authorization = request
        .header("Authorization")
        .ok_or(SignatureError::Missing("Authorization"))?;
    let signature = Signature::parse(authorization)?;
    let check = match signature.algorithm.as_str() {
        "hmac-sha256" => check::<Hmac<Sha256>>,
        "hmac-sha512" => check::<Hmac<Sha512>>,
        other => {
            return Err(malformed(format!(
                "algorithm `{}` is not supported; use hmac-sha256 or hmac-sha512",
                other.escape_debug().take(32).collect::<String>()
            )));
        }
    };
    let covers = |name: &str| signature.headers.iter().any(|signed| signed == name);
    if let Some(name) = REQUIRED.into_iter().find(|name| !covers(name)) {
        return Err(malformed(format!(
            "the signature must cover `{name}`; sign `(request-target) host date` and `digest` \
             when there is a body"
        )));
    }
    if !request.body.is_empty() && !covers("digest") {
        return Err(malformed("a request with a body must sign its `digest`"));
    }
    let secret = keys
        .secret(&signature.key_id)
        .ok_or(SignatureError::Invalid("the key id is not known"))?;

    let date = request
        .header("Date")
        .ok_or(SignatureError::Missing("Date"))?;
    let sent = httpdate::parse_http_date(date)
        .map_err(|_| malformed("the Date header is not an HTTP date"))?;
    let skew = now
        .duration_since(sent)
        .or_else(|_| sent.duration_since(now))
        .unwrap_or_default();
    if skew > max_skew {
        return Err(SignatureError::Invalid(
            "the Date header is outside the allowed clock skew",
        ));
    }
    if covers("digest") {
        check_digest(request)?;
    }

    let headers: Vec<&str> = signature.headers.iter().map(String::as_str).collect();
    let signed = request.signing_string(&headers)?;
    if check(secret, &signed, &signature.signature) {
        Ok(signature.key_id)
    } else {
        Err(SignatureError::Invalid("the signature does not match"))
    }
}

/// Check a `Digest: SHA-256=<base64>` (or `SHA-512=`) header against the body.
fn check_digest(request: &Request<'_>) -> Result<(), SignatureError> {
    let header = request
        .header("Digest")
        .ok_or_else(|| malformed("the signed header `digest` is missing"))?;
    let (algorithm, value) = header
        .split_once('=')
        .ok_or_else(|| malformed("the Digest header is not of the form SHA-256=<base64>"))?;
    let sent = STANDARD
        .decode(value)
        .map_err(|_| malformed("the Digest header is not base64"))?;
    let actual = match algorithm.to_ascii_uppercase().as_str() {
        "SHA-256" => Sha256::digest(request.body).to_vec(),
        "SHA-512" => Sha512::digest(request.body).to_vec(),
        _ => return Err(malformed("the Digest algorithm must be SHA-256 or SHA-512")),
    };
    if actual == sent {
        Ok(())
    } else {
        Err(SignatureError::Invalid(
            "the Digest does not match the body",
        ))
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

/// The `Digest` header of `body`, as a client sends it.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// The `Authorization` value that signs `request` with `secret`, as a client sends it: over
/// `(request-target) host date`, and `digest` when there is a body. `request.headers` must hold
/// those headers.
pub fn sign(key_id: &str, request: &Request<'_>, secret: &[u8]) -> Result<String, SignatureError> {
    let headers: &[&str] = if request.body.is_empty() {
        &REQUIRED
    } else {
        &["(request-target)", "host", "date", "digest"]
    };
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(request.signing_string(headers)?.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!(
        r#"Signature keyId="{key_id}",algorithm="hmac-sha256",headers="{}",signature="{signature}""#,
        headers.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn keys() -> Keys {
        Keys::from_entries([format!("client-1={SECRET}").as_str()]).unwrap()
    }

    fn headers(date: &str, body: &[u8]) -> HashMap<String, String> {
        let mut headers = HashMap::from([
            ("Host".to_owned(), "api.example.com".to_owned()),
            ("Date".to_owned(), date.to_owned()),
        ]);
        if !body.is_empty() {
            headers.insert("Digest".to_owned(), digest(body));
        }
        headers
    }

    /// Sign `method target body` now, then verify `checked`'s method, target and body with the
    /// signed headers.
    fn replay(
        signed: (&str, &str, &[u8]),
        checked: (&str, &str, &[u8]),
    ) -> Result<String, SignatureError> {
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now);
        let (method, target, body) = signed;
        let mut sent = headers(&date, body);
        let request = Request {
            method,
            target,
            headers: &sent,
            body,
        };
        let authorization = sign("client-1", &request, SECRET.as_bytes()).unwrap();
        sent.insert("Authorization".to_owned(), authorization);
        let (method, target, body) = checked;
        let request = Request {
            method,
            target,
            headers: &sent,
            body,
        };
        verify(&request, &keys(), Duration::from_secs(300), now)
    }

    #[test]
    fn a_signed_request_passes() {
        let request = ("POST", "/pets?status=sold", b"{}".as_slice());
        assert_eq!(replay(request, request).unwrap(), "client-1");
        let request = ("GET", "/pets", b"".as_slice());
        assert_eq!(replay(request, request).unwrap(), "client-1");
    }

    #[test]
    fn a_captured_signature_fails_on_another_request() {
        let signed = ("POST", "/pets", b"{\"name\":\"rex\"}".as_slice());
        for other in [
            ("DELETE", "/pets", b"{\"name\":\"rex\"}".as_slice()),
            ("POST", "/admin", b"{\"name\":\"rex\"}".as_slice()),
        ] {
            assert_eq!(
                replay(signed, other),
                Err(SignatureError::Invalid("the signature does not match"))
            );
        }
        let other_body = ("POST", "/pets", b"{\"name\":\"max\"}".as_slice());
        assert_eq!(
            replay(signed, other_body),
            Err(SignatureError::Invalid(
                "the Digest does not match the body"
            ))
        );
    }

    #[test]
    fn a_signature_that_covers_too_little_is_malformed() {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let mut sent = headers(&date, b"");
        sent.insert(
            "Authorization".to_owned(),
            r#"Signature keyId="client-1",algorithm="hmac-sha256",headers="date",signature="AAAA""#
                .to_owned(),
        );
        let request = Request {
            method: "GET",
            target: "/",
            headers: &sent,
            body: b"",
        };
        let err = verify(
            &request,
            &keys(),
            Duration::from_secs(300),
            SystemTime::now(),
        );
        assert!(
            matches!(err, Err(SignatureError::Malformed(reason)) if reason.contains("(request-target)"))
        );
    }

    #[test]
    fn parameters_are_read_whatever_their_order_and_spacing() {
        let parsed = Signature::parse(
            r#"Signature signature="AAAA", headers="(request-target) Host date",keyId="a,b", algorithm="hmac-sha512""#,
        )
        .unwrap();
        assert_eq!(parsed.key_id, "a,b");
        assert_eq!(parsed.algorithm, "hmac-sha512");
        assert_eq!(parsed.headers, ["(request-target)", "host", "date"]);
        for bad in [
            "Bearer abc",
            r#"Signature keyId=client-1"#,
            r#"Signature keyId="client-1" algorithm="x""#,
            r#"Signature keyId="client-1",algorithm="hmac-sha256",headers="date",signature="%%%""#,
        ] {
            assert!(
                matches!(Signature::parse(bad), Err(SignatureError::Malformed(_))),
                "{bad}"
            );
        }
    }

    /// Each refusal of a request signed by `client-1` that something spoils, with its reason.
    #[test]
    fn every_refusal_says_why() {
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now);
        let stale = httpdate::fmt_http_date(now - Duration::from_secs(3600));
        let signed = |key_id: &str, secret: &str, date: &str| {
            let mut sent = headers(date, b"");
            let request = Request {
                method: "GET",
                target: "/pets",
                headers: &sent,
                body: b"",
            };
            let authorization = sign(key_id, &request, secret.as_bytes()).unwrap();
            sent.insert("Authorization".to_owned(), authorization);
            sent
        };
        let good = signed("client-1", SECRET, &date);
        let edited = |name: &str, value: Option<String>| {
            let mut sent = good.clone();
            match value {
                Some(value) => sent.insert(name.to_owned(), value),
                None => sent.remove(name),
            };
            sent
        };
        let md5 = good["Authorization"].replace("hmac-sha256", "hmac-md5");
        let cases = [
            (
                edited("Authorization", None),
                SignatureError::Missing("Authorization"),
            ),
            (edited("Date", None), SignatureError::Missing("Date")),
            (
                edited("Authorization", Some("Bearer abc".into())),
                malformed("the Authorization scheme must be `Signature`"),
            ),
            (
                edited("Authorization", Some(md5)),
                malformed("algorithm `hmac-md5` is not supported; use hmac-sha256 or hmac-sha512"),
            ),
            (
                edited("Date", Some("yesterday".into())),
                malformed("the Date header is not an HTTP date"),
            ),
            (
                signed("client-2", SECRET, &date),
                SignatureError::Invalid("the key id is not known"),
            ),
            (
                signed("client-1", "another secret of 32 bytes or more", &date),
                SignatureError::Invalid("the signature does not match"),
            ),
            (
                signed("client-1", SECRET, &stale),
                SignatureError::Invalid("the Date header is outside the allowed clock skew"),
            ),
        ];
        for (sent, refusal) in cases {
            let request = Request {
                method: "GET",
                target: "/pets",
                headers: &sent,
                body: b"",
            };
            let verified = verify(&request, &keys(), Duration::from_secs(300), now);
            assert_eq!(verified, Err(refusal));
        }
        assert_eq!(
            SignatureError::Missing("Date").to_string(),
            "missing Date header"
        );
    }

    #[test]
    fn keys_need_long_secrets_and_distinct_ids() {
        let short = Keys::from_entries(["client-1=short"]).unwrap_err();
        assert!(
            short.contains("`client-1`") && !short.contains("short"),
            "{short}"
        );
        let long = "x".repeat(MIN_SECRET_LEN);
        let twice =
            Keys::from_entries([format!("a={long}").as_str(), format!("a={long}").as_str()]);
        assert_eq!(twice.unwrap_err(), "key `a` is given twice");
        assert!(Keys::from_entries([]).is_err());
        assert!(Keys::from_entries(["no-separator"]).is_err());
        assert!(format!("{:?}", keys()).contains("client-1"));
        assert!(!format!("{:?}", keys()).contains(SECRET));
    }
}
