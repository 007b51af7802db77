//! The JWT kinds against the token matrix of a Python `grpcio` + `PyJWT` client
//! (`peers/jwt_matrix.py`): every case gets its documented status code and message, and no
//! message quotes more than a short excerpt of what the client sent. Also the startup refusals: short keys and secrets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use grpc_scaffold::Kind;

use crate::generated::{binary, cargo, project, Server};
use crate::support::{peer, run, work_dir};

/// The longest status message any case may get.
const MAX_MESSAGE: usize = 120;

/// The Python client, `peers/jwt_matrix.py`.
fn client() -> Command {
    peer("jwt_matrix.py", &["grpc", "jwt", "cryptography"])
}

/// The keys of every case, written once per test run by the Python client.
fn keys() -> &'static Path {
    static KEYS: OnceLock<PathBuf> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = work_dir().join("jwt-keys");
        run(client().arg("keys").arg(&dir));
        dir
    })
}

fn key(name: &str) -> String {
    keys().join(name).to_str().unwrap().to_owned()
}

/// Build `kind`'s server, and return its path.
fn server_binary(kind: Kind) -> PathBuf {
    run(&mut cargo(&project(kind), &["build", "--bins"]));
    binary(&format!("demo-{}-server", kind.id()))
}

/// Run `cases` (name, code, message) against `server` and check each line of the client.
fn matrix(kind: Kind, server: &Server, cases: &[(&str, &str, &str)]) {
    let names: Vec<&str> = cases.iter().map(|(name, _, _)| *name).collect();
    let output = run(client()
        .arg(kind.id())
        .arg(server.address.to_string())
        .arg(keys())
        .args(&names));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{stdout}");
    for ((name, code, message), line) in cases.iter().zip(lines) {
        let got: Vec<&str> = line.splitn(3, '\t').collect();
        assert_eq!(got, [*name, *code, *message], "case `{name}`");
        assert!(got[2].len() <= MAX_MESSAGE, "case `{name}`: {line}");
    }
}

/// The first lines of what `binary` prints when it refuses to start; fails if it starts.
fn startup_error(binary: &Path, envs: &[(&str, &str)]) -> String {
    let mut child = Command::new(binary)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("ADMIN_LISTEN_ADDR", "off")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} started, with {envs:?}", binary.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(1));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `text`'s first 32 characters and `...`, as the servers quote a long value.
fn excerpt(text: &str) -> String {
    format!("{}...", &text[..32])
}

mod extension {
    use super::*;

    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "one case after another, each with its own checks"
    )]
    fn the_token_matrix_through_grpcio_and_pyjwt() {
        let binary = server_binary(Kind::Extension);
        // The keys by `kid`, from a JWKS file, and no default key: an unknown `kid` is refused.
        let server = Server::start(
            &binary,
            &[("JWKS_FILE", &key("rsa.jwks.json")), ("CLIENT_IDS", "7,8")],
        );
        let long = excerpt(&"A".repeat(40));
        let unauthenticated = "UNAUTHENTICATED";
        matrix(
            Kind::Extension,
            &server,
            &[
                ("valid", "OK", ""),
                ("float exp", "OK", ""),
                ("rotated key", "OK", ""),
                (
                    "expired",
                    unauthenticated,
                    "invalid token: token has expired",
                ),
                (
                    "not yet valid",
                    unauthenticated,
                    "invalid token: token is not valid yet",
                ),
                (
                    "alg none",
                    unauthenticated,
                    "invalid token: token algorithm `none` is not allowed",
                ),
                (
                    "HS256 with the public key",
                    unauthenticated,
                    "invalid token: token algorithm `HS256` is not allowed",
                ),
                (
                    "wrong key",
                    unauthenticated,
                    "invalid token: token signature is invalid",
                ),
                (
                    "wrong kid",
                    unauthenticated,
                    "invalid token: token key id (`kid`) is not known",
                ),
                (
                    "no kid",
                    unauthenticated,
                    "invalid token: token key id (`kid`) is not known",
                ),
                (
                    "aud not expected",
                    unauthenticated,
                    "invalid token: token audience is not accepted",
                ),
                (
                    "wrong client id",
                    "PERMISSION_DENIED",
                    "client 9 is not allowed",
                ),
                (
                    "missing scope",
                    "PERMISSION_DENIED",
                    "token lacks the `client_super` scope",
                ),
                (
                    "garbage",
                    unauthenticated,
                    "invalid token: token is malformed",
                ),
                ("empty", unauthenticated, "missing token"),
                (
                    "oversized alg",
                    unauthenticated,
                    &format!("invalid token: token algorithm `{long}` is not allowed"),
                ),
                (
                    "oversized type",
                    unauthenticated,
                    &format!(
                        "invalid token: token type is `{long}`, but an `access` token is required"
                    ),
                ),
                (
                    "oversized action",
                    "INVALID_ARGUMENT",
                    &format!("unknown action `{long}`; expected one of `process`, `skip`"),
                ),
            ],
        );
        drop(server);

        // One default key, as PEM on one line with `\n` escapes, the way env files hold it; and
        // an issuer and audience to match.
        let pem = std::fs::read_to_string(key("current.pem")).unwrap();
        let server = Server::start(
            &binary,
            &[
                ("PUBLIC_KEY", &pem.replace('\n', "\\n")),
                ("CLIENT_IDS", "7"),
                ("JWT_ISSUER", "platform"),
                ("JWT_AUDIENCE", "extensions"),
            ],
        );
        matrix(
            Kind::Extension,
            &server,
            &[
                ("valid with iss and aud", "OK", ""),
                // With a default key, a `kid` that names no key falls back to it.
                ("unknown kid, default key", "OK", ""),
                (
                    "wrong aud",
                    unauthenticated,
                    "invalid token: token audience is not accepted",
                ),
                (
                    "wrong issuer",
                    unauthenticated,
                    "invalid token: token issuer is not accepted",
                ),
            ],
        );
    }

    #[test]
    fn an_rsa_key_under_2048_bits_is_refused_at_startup() {
        let binary = server_binary(Kind::Extension);
        let small = key("small.pem");
        let stderr = startup_error(&binary, &[("PUBLIC_KEY", &small), ("CLIENT_IDS", "1")]);
        assert!(
            stderr.contains(&format!(
                "PUBLIC_KEY `{small}` is a 1024-bit RSA key; RS256 needs at least 2048 bits"
            )),
            "{stderr}"
        );
    }
}

mod streaming {
    use super::*;

    #[test]
    fn the_token_matrix_through_grpcio_and_pyjwt() {
        let binary = server_binary(Kind::Streaming);
        // The seed's 13-byte secret as the default key, beside the rotated secrets by `kid`.
        let server = Server::start(
            &binary,
            &[
                ("JWT_SECRET", "my_secret_key"),
                ("JWT_ALLOW_WEAK_SECRET", "true"),
                ("JWKS_FILE", &key("hs256.jwks.json")),
                ("STREAM_MESSAGES", "2"),
                ("STREAM_INTERVAL_MS", "10"),
            ],
        );
        let hello = "Hello Alice, this is message 1";
        let (unauthenticated, invalid) = ("UNAUTHENTICATED", "Invalid authorization token");
        let long = excerpt(&"A".repeat(40));
        matrix(
            Kind::Streaming,
            &server,
            &[
                ("seed client", "OK", hello),
                ("valid", "OK", hello),
                ("lowercase bearer", "OK", hello),
                ("rotated key", "OK", hello),
                (
                    "expired",
                    unauthenticated,
                    "Authorization token has expired",
                ),
                ("not yet valid", unauthenticated, invalid),
                ("alg none", unauthenticated, invalid),
                ("RS256", unauthenticated, invalid),
                ("wrong key", unauthenticated, invalid),
                ("wrong kid", unauthenticated, invalid),
                ("aud not expected", unauthenticated, invalid),
                ("no user_id", unauthenticated, "Invalid token payload"),
                (
                    "another user",
                    "PERMISSION_DENIED",
                    "user_id `Bob` does not match the token's user",
                ),
                (
                    "oversized user_id",
                    "PERMISSION_DENIED",
                    &format!("user_id `{long}` does not match the token's user"),
                ),
                ("garbage", unauthenticated, invalid),
                ("empty", unauthenticated, "Authorization token is missing"),
                ("missing", unauthenticated, "Authorization token is missing"),
                ("oversized alg", unauthenticated, invalid),
            ],
        );
        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "{logs}");
        assert!(
            logs.contains("JWT_SECRET is 13 bytes long, under 32: anyone who sees one token can guess the secret offline and forge tokens for any user"),
            "no warning about the weak secret:\n{logs}"
        );

        // Secrets by `kid` only, and an issuer and audience to match.
        let server = Server::start(
            &binary,
            &[
                ("JWKS_FILE", &key("hs256.jwks.json")),
                ("JWT_ISSUER", "platform"),
                ("JWT_AUDIENCE", "streams"),
            ],
        );
        matrix(
            Kind::Streaming,
            &server,
            &[
                ("valid with iss and aud", "OK", hello),
                ("wrong aud", unauthenticated, invalid),
                ("wrong issuer", unauthenticated, invalid),
                ("seed client", unauthenticated, invalid),
            ],
        );
    }

    #[test]
    fn a_weak_secret_is_refused_unless_allowed() {
        let binary = server_binary(Kind::Streaming);
        let stderr = startup_error(&binary, &[("JWT_SECRET", "my_secret_key")]);
        assert!(
            stderr.contains("JWT_SECRET is 13 bytes long; it must be at least 32"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("my_secret_key"),
            "the secret was echoed:\n{stderr}"
        );
    }
}
