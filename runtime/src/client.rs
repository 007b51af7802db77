//! How a client binary reaches the server: an [`endpoint`] from the server's URL, with HTTP/2
//! keepalive, and TLS when the URL is `https://` (verified with a CA bundle from a file or the
//! public web roots, with a client certificate from files for mutual TLS); and [`describe`], the
//! message of a failed call with its causes.
//!
//! ```no_run
//! use std::path::Path;
//!
//! # async fn run() -> anyhow::Result<()> {
//! let ca_cert = Some(Path::new("ca.pem"));
//! let identity = Some((Path::new("client.pem"), Path::new("client.key")));
//! let channel = grpc_scaffold_runtime::client::connect("https://api.example.com", ca_cert, identity)
//!     .await?;
//! # drop(channel);
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The endpoint of the server at `server`: `https://` turns TLS on, verified with the PEM CA
/// bundle `ca_cert` (default: the public web roots), and with `identity`, a PEM client
/// certificate and its private key, for mutual TLS. The files are read now.
pub fn endpoint(
    server: &str,
    ca_cert: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> anyhow::Result<Endpoint> {
    // HTTP/2 pings find a connection that died without a word (a host gone, a cut cable),
    // so that the channel connects again rather than wait on it for ever.
    let mut endpoint = Endpoint::from_shared(server.to_owned())
        .with_context(|| format!("invalid server URL `{server}`"))?
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    if server.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        tls = match ca_cert {
            Some(path) => tls.ca_certificate(Certificate::from_pem(read(path)?)),
            None => tls.with_webpki_roots(),
        };
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    Ok(endpoint)
}

/// Connect to the server at `server`, as [`endpoint`] describes it.
pub async fn connect(
    server: &str,
    ca_cert: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> anyhow::Result<Channel> {
    endpoint(server, ca_cert, identity)?
        .connect()
        .await
        .with_context(|| format!("failed to connect to {server}"))
}

/// The message of a gRPC status, with its causes: a transport error says little on its own.
pub fn describe(status: &tonic::Status) -> String {
    let mut message = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use std::fmt;
    use std::path::Path;
    use std::sync::Arc;

    use tonic::{Code, Status};

    use super::{connect, describe, endpoint};

    /// An error with an optional cause.
    #[derive(Debug)]
    struct Failure(&'static str, Option<Box<Failure>>);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failure {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|cause| cause as _)
        }
    }

    #[test]
    fn describe_follows_every_cause() {
        let mut status = Status::new(Code::Unavailable, "error trying to connect");
        let cause = Failure(
            "tcp connect error",
            Some(Box::new(Failure("refused", None))),
        );
        status.set_source(Arc::new(cause));
        assert_eq!(
            describe(&status),
            "error trying to connect: tcp connect error: refused"
        );
        assert_eq!(describe(&Status::not_found("no such book")), "no such book");
    }

    #[test]
    fn a_bad_url_is_named() {
        let error = endpoint("not a url", None, None).unwrap_err();
        assert_eq!(error.to_string(), "invalid server URL `not a url`");
    }

    #[test]
    fn tls_files_are_read_only_for_https() {
        let missing = Path::new("/nonexistent/ca.pem");
        let plain = endpoint("http://127.0.0.1:50051", Some(missing), None).unwrap();
        assert_eq!(plain.uri().scheme_str(), Some("http"));

        let error = endpoint("https://localhost:50051", Some(missing), None).unwrap_err();
        assert_eq!(error.to_string(), "failed to read `/nonexistent/ca.pem`");

        let key = Path::new("/nonexistent/client.key");
        let error = endpoint("https://localhost:50051", None, Some((missing, key))).unwrap_err();
        assert_eq!(error.to_string(), "failed to read `/nonexistent/ca.pem`");
        assert!(endpoint("https://localhost:50051", None, None).is_ok());
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_named() {
        // A port just freed: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let error = connect(&server, None, None).await.unwrap_err();
        assert_eq!(error.to_string(), format!("failed to connect to {server}"));
    }
}
