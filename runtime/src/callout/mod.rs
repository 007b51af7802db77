//! What the Envoy callout servers share: where they listen. A callout serves gRPC in plaintext
//! and over TLS at once, each of which can be turned off, and answers health checks over HTTP
//! on any path, as the load balancers in front of Envoy's callouts expect. A project flattens
//! [`ListenArgs`] into its [`ServerArgs`](crate::server::ServerArgs):
//!
//! ```no_run
//! use clap::Parser as _;
//! use grpc_scaffold_runtime::callout::ListenArgs;
//! use grpc_scaffold_runtime::server::{Server, ServerArgs, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let args = ServerArgs::<ListenArgs>::parse();
//! Server::new(&args).serve(Services::default()).await
//! # }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::server::{Bind, GrpcListener, Listen, Listeners, bind, tls_config};

#[cfg(all(test, any(feature = "ext-proc", feature = "ext-proc-l4")))]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

/// The TLS listener's address unless `--tls-listen` says otherwise.
const TLS_LISTEN: &str = "[::]:8443";
/// The certificate files unless `--tls-cert` and `--tls-key` say otherwise.
const TLS_CERT: &str = "certs/server.pem";
const TLS_KEY: &str = "certs/server.key";

/// The listeners' flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Plaintext (h2c) gRPC address, or `off`
    #[arg(long, env = "PLAINTEXT_LISTEN", default_value = "[::]:8080")]
    pub plaintext_listen: Listen,

    /// TLS gRPC address, or `off` [default: [::]:8443, skipped with a warning while the default
    /// certificate files are missing]
    // The text is `--help`'s too, where the brackets are clap's way to show a default.
    #[allow(rustdoc::broken_intra_doc_links)]
    #[arg(long, env = "TLS_LISTEN")]
    pub tls_listen: Option<Listen>,

    /// HTTP address of health checks (any path but /livez and /metrics: 200 while serving, 503
    /// once draining) and metrics (/metrics), or `off`
    #[arg(long, env = "HEALTH_LISTEN", default_value = "[::]:8000")]
    pub health_listen: Listen,

    /// PEM certificate chain of the TLS listener (`make certs` makes a development one)
    #[arg(long, env = "TLS_CERT", default_value = TLS_CERT)]
    pub tls_cert: PathBuf,

    /// PEM private key of --tls-cert
    #[arg(long, env = "TLS_KEY", default_value = TLS_KEY)]
    pub tls_key: PathBuf,

    /// PEM CA bundle: require client certificates signed by it on the TLS listener (mutual TLS)
    #[arg(long, env = "TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
}

impl ListenArgs {
    /// The TLS listener's address, if it is on. Left at its default, it is skipped with one
    /// warning while the default certificates are missing, so that a first run needs no set-up.
    fn tls_address(&self) -> Option<SocketAddr> {
        if let Some(Listen(address)) = self.tls_listen {
            return address;
        }
        let defaults = self.tls_cert == Path::new(TLS_CERT) && self.tls_key == Path::new(TLS_KEY);
        if defaults && !(self.tls_cert.exists() && self.tls_key.exists()) {
            tracing::warn!(
                cert = TLS_CERT,
                "no TLS listener: the default certificate files are missing (`make certs` makes \
                 development ones)"
            );
            return None;
        }
        TLS_LISTEN.parse().ok()
    }
}

impl Bind for ListenArgs {
    /// Read the certificates, then bind every listener that is on. Refuses a configuration
    /// without a gRPC listener, since such a server could never be called.
    async fn bind(&self) -> anyhow::Result<Listeners> {
        let tls_address = self.tls_address();
        let Listen(plaintext) = self.plaintext_listen;
        if plaintext.is_none() && tls_address.is_none() {
            bail!(
                "no gRPC listener: --plaintext-listen is `off` and the TLS listener is off; turn \
                 at least one of them on"
            );
        }
        let hint = ": run `make certs` for development certificates, or turn the TLS listener \
                    off with `--tls-listen off`";
        let tls = match tls_address {
            Some(_) => Some(tls_config(
                &self.tls_cert,
                &self.tls_key,
                self.tls_client_ca.as_deref(),
                hint,
            )?),
            None => None,
        };
        let mut grpc = Vec::new();
        if let Some(address) = plaintext {
            grpc.push(GrpcListener {
                listener: bind(address).await?,
                tls: None,
            });
        }
        if let (Some(address), Some(tls)) = (tls_address, tls) {
            grpc.push(GrpcListener {
                listener: bind(address).await?,
                tls: Some(tls),
            });
        }
        Ok(Listeners {
            grpc,
            admin: self.health_listen.bind().await?,
            // The health port of a callout answers on any path, as load balancers expect.
            ready_on_any_path: true,
        })
    }
}

/// Put `value` under `key` in the Struct of `namespace` in `metadata`: Envoy takes each
/// top-level field of dynamic metadata as a namespace, and keeps it only if it is a Struct.
#[cfg(any(feature = "ext-proc", feature = "ext-proc-l4"))]
pub(crate) fn insert_metadata(
    metadata: &mut Option<envoy_types::pb::google::protobuf::Struct>,
    namespace: &str,
    key: &str,
    value: envoy_types::pb::google::protobuf::Value,
) {
    use envoy_types::pb::google::protobuf::value::Kind;
    use envoy_types::pb::google::protobuf::{Struct, Value};

    let entry = metadata
        .get_or_insert_with(Struct::default)
        .fields
        .entry(namespace.to_owned())
        .or_insert_with(|| Value {
            kind: Some(Kind::StructValue(Struct::default())),
        });
    if let Some(Kind::StructValue(fields)) = &mut entry.kind {
        fields.fields.insert(key.to_owned(), value);
    }
}
