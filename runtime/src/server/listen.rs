//! Where the server listens: one gRPC address, plaintext or TLS, and the admin HTTP address.
//! A kind with listeners of its own (the Envoy callouts) has its own flags, bound by [`Bind`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{GrpcListener, Listen, Listeners, bind, tls_config};

/// The listeners' flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Address to listen on
    #[arg(long = "listen", env = "LISTEN_ADDR", default_value = "[::]:50051")]
    pub listen: SocketAddr,

    /// PEM certificate chain to serve TLS with (needs --tls-key)
    #[arg(long, env = "TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert
    #[arg(long, env = "TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM CA bundle: require client certificates signed by it (mutual TLS)
    #[arg(long, env = "TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Admin HTTP address, plaintext: metrics at /metrics, health at /livez and /readyz; or `off`
    #[arg(long, env = "ADMIN_LISTEN_ADDR", default_value = "[::]:9090")]
    pub admin_listen: Listen,
}

/// Flags that say where to listen, and bind the listeners they name.
pub trait Bind {
    /// Read the certificates, then bind the listeners.
    fn bind(&self) -> impl Future<Output = anyhow::Result<Listeners>> + Send;
}

impl Bind for ListenArgs {
    async fn bind(&self) -> anyhow::Result<Listeners> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                Some(tls_config(cert, key, self.tls_client_ca.as_deref(), "")?)
            }
            _ => None,
        };
        let listener = bind(self.listen).await?;
        Ok(Listeners {
            grpc: vec![GrpcListener { listener, tls }],
            admin: self.admin_listen.bind().await?,
            ready_on_any_path: false,
        })
    }
}
