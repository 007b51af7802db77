//! The `jwt` feature through its public API: the token matrix with its statuses and messages,
//! issuer and audience, keys and secrets by `kid` and where they come from, the refusals at
//! startup, request parsing, and the development tokens. The tests make their own RSA keys.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use grpc_scaffold_runtime::jwt::access::AccessToken;
use grpc_scaffold_runtime::jwt::auth::{TokenError, ValidationArgs, Verifier, now};
use grpc_scaffold_runtime::jwt::extension::{
    Authenticator, ExtensionArgs, ProcessError, Request, TokenArgs,
};
use grpc_scaffold_runtime::jwt::secrets::SecretArgs;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Map, Value, json};
use tonic::Code;

/// A data extension's settings, as a project flattens them.
#[derive(Debug, Parser)]
struct Extension {
    #[command(flatten)]
    args: ExtensionArgs,
}

/// A streaming server's settings, as a project flattens them.
#[derive(Debug, Parser)]
struct Streaming {
    #[command(flatten)]
    secret: SecretArgs,
    #[command(flatten)]
    validation: ValidationArgs,
}

/// The development token's settings, as the token binary flattens them.
#[derive(Debug, Parser)]
struct Mint {
    #[command(flatten)]
    token: TokenArgs,
}

/// An RSA key pair as PEM: (private, public).
fn new_key_pair(bits: usize) -> (String, String) {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}

/// The pair the servers trust.
fn keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| new_key_pair(2048))
}

/// A second pair, that signs tokens no server should take for the first's.
fn other_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| new_key_pair(2048))
}

/// A folder of its own under the system's temporary one, for key files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jwt-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An authenticator that trusts [`keys`] for clients 7 and 8, with `extra` settings.
fn trusting(extra: &[&str]) -> Authenticator {
    // `=`, because a PEM starts with dashes.
    let public_key = format!("--public-key={}", keys().1);
    let mut args = vec!["test", &public_key, "--client-ids", "7,8"];
    args.extend_from_slice(extra);
    Authenticator::new(&Extension::parse_from(args).args).unwrap()
}

/// Claims the extension accepts.
fn valid_claims() -> Value {
    json!({
        "client_id": 7,
        "type": "access",
        "scopes": ["read", "client_super"],
        "exp": now() + 600,
    })
}

fn with(change: impl Fn(&mut Map<String, Value>)) -> Value {
    let mut claims = valid_claims();
    change(claims.as_object_mut().unwrap());
    claims
}

fn sign_with(private: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with(&keys().0, None, claims)
}

/// A token with the given claims and `alg`, signed by nobody.
fn unsigned(alg: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The status code and message that `token` is refused with.
fn refused(authenticator: &Authenticator, token: &str) -> (Code, String) {
    let status = authenticator.authenticate(token).unwrap_err();
    (status.code(), status.message().to_owned())
}

#[test]
fn token_matrix() {
    let authenticator = trusting(&[]);
    let tampered = {
        // Change one character inside the signature; the last one may carry padding bits only.
        let token = sign(&valid_claims());
        let (head, signature) = token.rsplit_once('.').unwrap();
        let mut signature = signature.to_owned();
        let swap = if signature[10..11] == *"A" { "B" } else { "A" };
        signature.replace_range(10..11, swap);
        format!("{head}.{signature}")
    };
    let key_confusion = {
        // HS256 "signed" with the public key as the shared secret: the classic confusion attack.
        let key = EncodingKey::from_secret(keys().1.as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &valid_claims(), &key).unwrap()
    };
    let unauthenticated = Code::Unauthenticated;
    let denied = Code::PermissionDenied;
    let table: Vec<(&str, String, Code, &str)> = vec![
        ("missing", String::new(), unauthenticated, "missing token"),
        (
            "garbage",
            "not-a-jwt".into(),
            unauthenticated,
            "invalid token: token is malformed",
        ),
        (
            "expired",
            sign(&with(|c| _ = c.insert("exp".into(), json!(now() - 3600)))),
            unauthenticated,
            "invalid token: token has expired",
        ),
        (
            "not yet valid",
            sign(&with(|c| _ = c.insert("nbf".into(), json!(now() + 3600)))),
            unauthenticated,
            "invalid token: token is not valid yet",
        ),
        (
            "no exp",
            sign(&with(|c| _ = c.remove("exp"))),
            unauthenticated,
            "invalid token: token has no `exp` claim",
        ),
        (
            "bad signature",
            tampered,
            unauthenticated,
            "invalid token: token signature is invalid",
        ),
        (
            "wrong key",
            sign_with(&other_keys().0, None, &valid_claims()),
            unauthenticated,
            "invalid token: token signature is invalid",
        ),
        (
            "alg none",
            unsigned("none", &valid_claims()),
            unauthenticated,
            "invalid token: token algorithm `none` is not allowed",
        ),
        (
            "an alg past the excerpt's length",
            unsigned(&"X".repeat(100), &valid_claims()),
            unauthenticated,
            "invalid token: token algorithm `XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX...` is not allowed",
        ),
        (
            "HS256 key confusion",
            key_confusion,
            unauthenticated,
            "invalid token: token algorithm `HS256` is not allowed",
        ),
        (
            "aud, when none is expected",
            sign(&with(|c| {
                _ = c.insert("aud".into(), json!("another-service"))
            })),
            unauthenticated,
            "invalid token: token audience is not accepted",
        ),
        (
            "no client_id",
            sign(&with(|c| _ = c.remove("client_id"))),
            denied,
            "token has no integer `client_id` claim",
        ),
        (
            "client not allowed",
            sign(&with(|c| _ = c.insert("client_id".into(), json!(9)))),
            denied,
            "client 9 is not allowed",
        ),
        (
            "wrong type",
            sign(&with(|c| _ = c.insert("type".into(), json!("refresh")))),
            unauthenticated,
            "invalid token: token type is `refresh`, but an `access` token is required",
        ),
        (
            "no type",
            sign(&with(|c| _ = c.remove("type"))),
            unauthenticated,
            "invalid token: token type is ``, but an `access` token is required",
        ),
        (
            "missing scope",
            sign(&with(|c| _ = c.insert("scopes".into(), json!(["read"])))),
            denied,
            "token lacks the `client_super` scope",
        ),
        (
            "scope as a longer word",
            sign(&with(|c| {
                _ = c.insert("scopes".into(), json!("read client_superuser"));
            })),
            denied,
            "token lacks the `client_super` scope",
        ),
    ];
    for (case, token, code, message) in table {
        let (got_code, got_message) = refused(&authenticator, &token);
        assert_eq!((got_code, got_message.as_str()), (code, message), "{case}");
    }

    for (case, claims) in [
        (
            "scopes as a string",
            with(|c| _ = c.insert("scopes".into(), json!("read client_super"))),
        ),
        (
            "client_id as a string",
            with(|c| _ = c.insert("client_id".into(), json!("8"))),
        ),
        (
            "expired within the leeway",
            with(|c| _ = c.insert("exp".into(), json!(now() - 5))),
        ),
        (
            "exp with a fraction, as PyJWT may write it",
            with(|c| _ = c.insert("exp".into(), json!(now() as f64 + 60.5))),
        ),
    ] {
        let accepted = authenticator.authenticate(&sign(&claims));
        assert!(accepted.is_ok(), "{case}: {accepted:?}");
    }
}

#[test]
fn a_verified_token_comes_back_with_its_claims_and_is_reused() {
    let authenticator = trusting(&[]);
    let token = sign(&with(|c| _ = c.insert("region".into(), json!("eu"))));
    let first = authenticator.authenticate(&token).unwrap();
    assert_eq!(first.client_id, 7);
    assert_eq!(first.scopes, ["read", "client_super"]);
    assert_eq!(first.claims["region"], "eu");
    let again = authenticator.authenticate(&token).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the second check is the cache's"
    );

    let uncached = trusting(&["--token-cache-size", "0"]);
    let first = uncached.authenticate(&token).unwrap();
    let again = uncached.authenticate(&token).unwrap();
    assert!(!Arc::ptr_eq(&first, &again), "no cache, no sharing");
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let authenticator = trusting(&["--jwt-issuer", "platform", "--jwt-audience", "extensions"]);
    let mut claims = valid_claims();
    claims["iss"] = json!("platform");
    claims["aud"] = json!("extensions");
    authenticator.authenticate(&sign(&claims)).unwrap();

    let unauthenticated = Code::Unauthenticated;
    claims.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        refused(&authenticator, &sign(&claims)),
        (
            unauthenticated,
            "invalid token: token has no `iss` claim".into()
        )
    );
    claims["iss"] = json!("someone-else");
    assert_eq!(
        refused(&authenticator, &sign(&claims)),
        (
            unauthenticated,
            "invalid token: token issuer is not accepted".into()
        )
    );
    claims["iss"] = json!("platform");
    claims["aud"] = json!("another-service");
    assert_eq!(
        refused(&authenticator, &sign(&claims)),
        (
            unauthenticated,
            "invalid token: token audience is not accepted".into()
        )
    );
    claims.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        refused(&authenticator, &sign(&claims)),
        (
            unauthenticated,
            "invalid token: token has no `aud` claim".into()
        )
    );
}

/// Check that `authenticator` takes each key's tokens under its `kid`, and no other.
fn assert_keys_by_kid(authenticator: &Authenticator) {
    let (current, previous) = (&keys().0, &other_keys().0);
    for (private, kid) in [(current, "current"), (previous, "previous")] {
        let token = sign_with(private, Some(kid), &valid_claims());
        authenticator.authenticate(&token).unwrap();
    }
    for (case, token, message) in [
        (
            "a kid that names no key",
            sign_with(current, Some("retired"), &valid_claims()),
            "invalid token: token key id (`kid`) is not known",
        ),
        (
            "no kid, and no default key",
            sign(&valid_claims()),
            "invalid token: token key id (`kid`) is not known",
        ),
        (
            "the other key's kid",
            sign_with(previous, Some("current"), &valid_claims()),
            "invalid token: token signature is invalid",
        ),
    ] {
        assert_eq!(
            refused(authenticator, &token),
            (Code::Unauthenticated, message.to_owned()),
            "{case}"
        );
    }
}

#[test]
fn keys_are_chosen_by_kid_from_a_folder() {
    let dir = temp_dir("keys-by-kid");
    std::fs::write(dir.join("current.pem"), &keys().1).unwrap();
    std::fs::write(dir.join("previous.pem"), &other_keys().1).unwrap();
    std::fs::write(dir.join("README.txt"), "not a key, and not read").unwrap();
    let dir_arg = format!("--public-keys-dir={}", dir.display());
    let args = Extension::parse_from(["test", &dir_arg, "--client-ids", "7"]).args;
    let authenticator = Authenticator::new(&args).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    assert_keys_by_kid(&authenticator);
}

#[test]
fn keys_are_chosen_by_kid_from_a_jwks_file() {
    let jwk = |public: &str, kid: &str| {
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::RsaPublicKey::from_public_key_pem(public).unwrap();
        json!({
            "kty": "RSA",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        })
    };
    let dir = temp_dir("jwks");
    let path = dir.join("jwks.json");
    let set = json!({ "keys": [jwk(&keys().1, "current"), jwk(&other_keys().1, "previous")] });
    std::fs::write(&path, set.to_string()).unwrap();
    let jwks_arg = format!("--jwks-file={}", path.display());
    let args = Extension::parse_from(["test", &jwks_arg, "--client-ids", "7"]).args;
    let authenticator = Authenticator::new(&args).unwrap();
    assert_keys_by_kid(&authenticator);

    let secret = json!({ "keys": [{ "kty": "oct", "kid": "hs", "k": "c2VjcmV0" }] });
    std::fs::write(&path, secret.to_string()).unwrap();
    let err = Authenticator::new(&args).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the key `hs` of JWKS_FILE is not an RSA key"
    );
    std::fs::write(&path, r#"{"keys": []}"#).unwrap();
    let err = Authenticator::new(&args).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("JWKS_FILE `{}` holds no key", path.display())
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_public_key_is_pem_text_escaped_pem_or_a_file() {
    let load = |public_key: &str| {
        let public_key = format!("--public-key={public_key}");
        let args = Extension::parse_from(["test", &public_key, "--client-ids", "1"]).args;
        Authenticator::new(&args).map(drop)
    };
    load(&keys().1).unwrap();
    load(&keys().1.replace('\n', "\\n")).unwrap();
    let dir = temp_dir("public-key-file");
    let path = dir.join("public.pem");
    std::fs::write(&path, &keys().1).unwrap();
    load(path.to_str().unwrap()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();

    let err = load("not a key").unwrap_err();
    assert_eq!(
        err.to_string(),
        "PUBLIC_KEY is neither PEM text nor the path of a file"
    );
    let err = load("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----").unwrap_err();
    assert_eq!(
        err.to_string(),
        "PUBLIC_KEY is not an RSA public key in PEM format"
    );
    let (_, small) = new_key_pair(1024);
    let err = load(&small).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PUBLIC_KEY is a 1024-bit RSA key; RS256 needs at least 2048 bits"
    );
}

#[test]
fn extension_settings_that_are_missing_or_bad_are_usage_errors() {
    let kind = |args: &[&str]| Extension::try_parse_from(args).unwrap_err().kind();
    use clap::error::ErrorKind;
    assert_eq!(
        kind(&["test", "--public-key", "k", "--client-ids", "1,x"]),
        ErrorKind::ValueValidation
    );
    assert_eq!(
        kind(&["test", "--client-ids", "1"]),
        ErrorKind::MissingRequiredArgument,
        "no key"
    );
    assert_eq!(
        kind(&["test", "--public-key", "k"]),
        ErrorKind::MissingRequiredArgument,
        "no client"
    );
}

fn access() -> Arc<AccessToken> {
    trusting(&[]).authenticate(&sign(&valid_claims())).unwrap()
}

/// A request's settings, as a project declares them.
#[derive(Debug, Default, serde::Deserialize)]
struct Settings {
    threshold: Option<f64>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

fn request(data: &[&str], config_json: &str) -> Request<Settings> {
    let data = data.iter().map(|record| (*record).to_owned()).collect();
    let indicators = vec!["ndvi".to_owned()];
    Request::new(
        "process".into(),
        data,
        indicators,
        config_json.into(),
        access(),
    )
}

fn invalid_input(result: Result<impl std::fmt::Debug, ProcessError>) -> String {
    match result {
        Err(ProcessError::InvalidInput(message)) => message,
        other => panic!("not InvalidInput: {other:?}"),
    }
}

#[test]
fn a_request_parses_into_its_settings_and_records() {
    let input = request(
        &[r#"{"id": 1}"#, "2"],
        r#"{"threshold": 0.5, "mode": "fast"}"#,
    )
    .parse()
    .unwrap();
    assert_eq!(input.data, [json!({ "id": 1 }), json!(2)]);
    assert_eq!(input.indicators, ["ndvi"]);
    assert_eq!(input.config.threshold, Some(0.5));
    assert_eq!(input.config.other["mode"], "fast");
    assert_eq!(input.access.client_id, 7);

    let input = request(&[], " ").parse().unwrap();
    assert_eq!(
        input.config.threshold, None,
        "empty settings are the defaults"
    );

    for config_json in ["{not json", "[1, 2]", r#"{"threshold": "high"}"#] {
        let message = invalid_input(request(&[], config_json).parse());
        assert!(message.starts_with("Invalid config_json: "), "{message}");
    }
    let message = invalid_input(request(&["{}", "{}", "{oops"], "").parse());
    assert!(
        message.starts_with("data[2] is not valid JSON: "),
        "{message}"
    );
}

#[test]
fn errors_become_their_statuses() {
    let mut unknown = request(&[], "");
    unknown.action = "t\u{f6}ken".repeat(20);
    let status = tonic::Status::from(unknown.unknown_action(&["process", "skip"]));
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        format!(
            "unknown action `{}t?...`; expected one of `process`, `skip`",
            "t?ken".repeat(6)
        )
    );
    for (error, code, message) in [
        (
            ProcessError::InvalidInput("no".into()),
            Code::InvalidArgument,
            "no",
        ),
        (
            ProcessError::Unavailable("later".into()),
            Code::Unavailable,
            "later",
        ),
        (
            ProcessError::Internal("a secret detail".into()),
            Code::Internal,
            "processing failed",
        ),
    ] {
        let status = tonic::Status::from(error);
        assert_eq!((status.code(), status.message()), (code, message));
    }
}

#[test]
fn a_development_token_passes_the_checks_it_is_made_for() {
    let dir = temp_dir("mint");
    let private = dir.join("private.pem");
    std::fs::write(&private, &keys().0).unwrap();
    let key = format!("--private-key={}", private.display());
    let mint = |extra: &[&str]| {
        let mut args = vec!["token", &key];
        args.extend_from_slice(extra);
        Mint::parse_from(args).token.mint()
    };

    let authenticator = trusting(&["--jwt-issuer", "platform", "--jwt-audience", "ext"]);
    let token = mint(&[
        "--client-id",
        "8",
        "--issuer",
        "platform",
        "--audience",
        "ext",
    ])
    .unwrap();
    let access = authenticator.authenticate(&token).unwrap();
    assert_eq!(access.client_id, 8);
    assert!(access.expires_at > now() + 3500, "an hour by default");

    let expired = mint(&["--ttl-secs", "-3600"]).unwrap();
    assert_eq!(
        refused(&trusting(&[]), &expired),
        (
            Code::Unauthenticated,
            "invalid token: token has expired".into()
        )
    );
    let kid = mint(&["--kid", "current"]).unwrap();
    let header = jsonwebtoken::decode_header(&kid).unwrap();
    assert_eq!(header.kid.as_deref(), Some("current"));

    std::fs::write(&private, "not a key").unwrap();
    let err = mint(&[]).unwrap_err();
    assert_eq!(err.to_string(), "not an RSA private key in PEM format");
    std::fs::remove_dir_all(&dir).unwrap();
    let err = mint(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("failed to read `{}`", private.display())
    );
}

/// An HS256 token of `claims`, signed with `secret` under `kid`.
fn hs256(secret: &str, kid: Option<&str>, claims: &Value) -> String {
    let header = Header {
        kid: kid.map(str::to_owned),
        ..Header::default()
    };
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn hs256_verifier(args: &[&str]) -> anyhow::Result<Verifier> {
    let settings = Streaming::try_parse_from(args)?;
    let keys = settings.secret.keys()?;
    Ok(Verifier::new(Algorithm::HS256, keys, &settings.validation))
}

#[test]
fn secrets_are_chosen_by_kid_and_the_first_signs() {
    let dir = temp_dir("secrets");
    let jwks = dir.join("jwks.json");
    let k = |secret: &str| URL_SAFE_NO_PAD.encode(secret);
    let (new, old) = (
        "the new secret, at least 32 bytes long",
        "the old secret, at least 32 bytes long",
    );
    let set = json!({ "keys": [
        { "kty": "oct", "kid": "new", "k": k(new) },
        { "kty": "oct", "kid": "old", "k": k(old) },
    ]});
    std::fs::write(&jwks, set.to_string()).unwrap();
    let jwks_arg = format!("--jwks-file={}", jwks.display());
    let secrets = Streaming::parse_from(["test", &jwks_arg])
        .secret
        .load()
        .unwrap();
    let kids: Vec<_> = secrets.iter().map(|secret| secret.kid.as_deref()).collect();
    assert_eq!(kids, [Some("new"), Some("old")], "the first signs");
    assert_eq!(secrets[0].bytes, new.as_bytes());

    let verifier = hs256_verifier(&["test", &jwks_arg]).unwrap();
    let claims = json!({ "user_id": "alice", "exp": now() + 60 });
    verifier.verify(&hs256(new, Some("new"), &claims)).unwrap();
    verifier.verify(&hs256(old, Some("old"), &claims)).unwrap();
    assert_eq!(
        verifier.verify(&hs256(new, Some("retired"), &claims)),
        Err(TokenError::UnknownKey)
    );
    assert_eq!(
        verifier.verify(&hs256(old, Some("new"), &claims)),
        Err(TokenError::Signature)
    );

    // A default secret beside them checks tokens without a kid, or with one it does not know.
    let secret_arg = format!("--jwt-secret={new}, and then some");
    let verifier = hs256_verifier(&["test", &jwks_arg, &secret_arg]).unwrap();
    let default = format!("{new}, and then some");
    verifier.verify(&hs256(&default, None, &claims)).unwrap();
    verifier
        .verify(&hs256(&default, Some("retired"), &claims))
        .unwrap();

    let rsa = json!({ "keys": [{ "kty": "RSA", "kid": "rs", "n": "AQAB", "e": "AQAB" }] });
    std::fs::write(&jwks, rsa.to_string()).unwrap();
    let err = hs256_verifier(&["test", &jwks_arg]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the key `rs` of JWKS_FILE is not an HS256 secret (`\"kty\": \"oct\"`)"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_secret_file_loses_its_trailing_newline() {
    let dir = temp_dir("secret-file");
    let path = dir.join("secret");
    let secret = "a secret file's secret, of 32 bytes or more";
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    let file_arg = format!("--jwt-secret-file={}", path.display());
    let verifier = hs256_verifier(&["test", &file_arg]).unwrap();
    let claims = json!({ "user_id": "alice", "exp": now() + 60 });
    verifier.verify(&hs256(secret, None, &claims)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = hs256_verifier(&["test", &file_arg]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("failed to read JWT_SECRET_FILE `{}`", path.display())
    );
}

#[test]
fn a_weak_secret_needs_allow_weak_secret() {
    // The seed client's secret, which its users may not be able to change at once.
    let verifier = hs256_verifier(&[
        "test",
        "--jwt-secret",
        "my_secret_key",
        "--allow-weak-secret",
    ])
    .unwrap();
    let claims = json!({ "user_id": "alice", "exp": now() + 60 });
    verifier
        .verify(&hs256("my_secret_key", None, &claims))
        .unwrap();

    let err = hs256_verifier(&["test", "--jwt-secret", "too short"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "JWT_SECRET is 9 bytes long; it must be at least 32, or set JWT_ALLOW_WEAK_SECRET=true \
         for clients that cannot change theirs yet"
    );
    let err = hs256_verifier(&["test"]).unwrap_err();
    let err = err.downcast::<clap::Error>().unwrap();
    assert_eq!(
        err.kind(),
        clap::error::ErrorKind::MissingRequiredArgument,
        "no secret at all is a usage error"
    );
}
