//! How the tools reach a backend: its address, TLS material, bearer token, and the scope
//! every call carries.

use std::path::PathBuf;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use vk_proto::scope::ScopeInterceptor;
use vk_proto::v1::provider_client::ProviderClient;
use vk_proto::{Endpoint, Scope};

/// Command-line flags naming a backend.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Backend address: unix:///path/to/socket or tcp://host:port.
    #[arg(long, env = "VK_BACKEND")]
    pub backend: Endpoint,
    /// Use TLS on tcp:// (implied by --ca, --cert or --key).
    #[arg(long)]
    pub tls: bool,
    /// CA certificate (PEM) that signed the backend's certificate.
    #[arg(long, env = "VK_BACKEND_CA")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for mTLS.
    #[arg(long, requires = "key", env = "VK_BACKEND_CERT")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM) for mTLS.
    #[arg(long, requires = "cert", env = "VK_BACKEND_KEY")]
    pub key: Option<PathBuf>,
    /// Server name to verify instead of the address's host.
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// Bearer token sent as `authorization: Bearer TOKEN`.
    #[arg(long, env = "VK_BACKEND_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A TLS file could not be read.
    #[error("reading {path} failed: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The channel could not be configured.
    #[error("configuring the channel failed: {0}")]
    Channel(#[from] vk_proto::endpoint::Error),
    /// The token is not valid metadata.
    #[error("the bearer token must be printable ASCII")]
    InvalidToken,
    /// The scope is not valid metadata.
    #[error("setting the scope failed: {0}")]
    Scope(#[from] vk_proto::scope::Error),
}

/// Adds the scope and, when configured, the bearer token to every call.
#[derive(Debug, Clone)]
pub struct CallInterceptor {
    scope: Option<ScopeInterceptor>,
    token: Option<MetadataValue<Ascii>>,
}

impl tonic::service::Interceptor for CallInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = match &mut self.scope {
            Some(scope) => scope.call(request)?,
            None => request,
        };
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A provider client carrying scope and token.
pub type Client = ProviderClient<InterceptedService<Channel, CallInterceptor>>;

/// An open (lazily connecting) channel to a backend.
#[derive(Debug, Clone)]
pub struct Connection {
    channel: Channel,
    token: Option<MetadataValue<Ascii>>,
}

fn read(path: &PathBuf) -> Result<String, ConnectError> {
    std::fs::read_to_string(path).map_err(|source| ConnectError::ReadFile { path: path.clone(), source })
}

impl Connection {
    /// Connects as the flags say.
    pub fn open(args: &ConnectArgs) -> Result<Self, ConnectError> {
        let wants_tls = args.tls || args.ca.is_some() || args.cert.is_some();
        let tls = if wants_tls {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &args.ca {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            if let Some(name) = &args.tls_server_name {
                tls = tls.domain_name(name.clone());
            }
            Some(tls)
        } else {
            None
        };
        let token = match &args.token {
            Some(token) => Some(format!("Bearer {token}").parse().map_err(|_| ConnectError::InvalidToken)?),
            None => None,
        };
        Ok(Self { channel: args.backend.channel(tls)?, token })
    }

    /// A connection over an existing channel, without a token.
    pub fn from_channel(channel: Channel) -> Self {
        Self { channel, token: None }
    }

    /// The same connection sending `token` instead (None: no token at all).
    pub fn with_token(&self, token: Option<&str>) -> Result<Self, ConnectError> {
        let token = match token {
            Some(token) => Some(format!("Bearer {token}").parse().map_err(|_| ConnectError::InvalidToken)?),
            None => None,
        };
        Ok(Self { channel: self.channel.clone(), token })
    }

    /// Whether calls carry a bearer token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The raw channel (for health and reflection).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A provider client acting for `scope`.
    pub fn provider(&self, scope: &Scope) -> Result<Client, ConnectError> {
        let interceptor =
            CallInterceptor { scope: Some(ScopeInterceptor::new(scope)?), token: self.token.clone() };
        Ok(ProviderClient::with_interceptor(self.channel.clone(), interceptor))
    }

    /// A provider client that sends no scope (to test that backends refuse it).
    pub fn unscoped_provider(&self) -> Client {
        ProviderClient::with_interceptor(
            self.channel.clone(),
            CallInterceptor { scope: None, token: self.token.clone() },
        )
    }
}
