//! Building the gRPC channel to the backend.

use std::path::PathBuf;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use vk_proto::Endpoint;
use vk_proto::scope::ScopeInterceptor;

use crate::resolve::Sensitive;

/// PEM files for TLS to a remote backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA bundle that signed the backend's certificate (else the system roots are not used:
    /// a remote backend needs a CA).
    pub ca: Option<PathBuf>,
    /// Client certificate (mTLS).
    pub cert: Option<PathBuf>,
    /// Client key (mTLS).
    pub key: Option<PathBuf>,
    /// Name to verify in the backend's certificate, when it differs from the host.
    pub server_name: Option<String>,
}

/// How to reach the backend.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    /// `unix:///path` or `tcp://host:port`.
    pub endpoint: Endpoint,
    /// TLS for TCP endpoints; `None` means plain text (loopback and tests only).
    pub tls: Option<TlsFiles>,
    /// Bearer token sent as `authorization: Bearer ...`.
    pub token: Option<Sensitive<String>>,
}

/// Why the channel could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A TLS file could not be read.
    #[error("reading {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A client certificate was given without its key or the other way round.
    #[error("--backend-tls-cert and --backend-tls-key must be given together")]
    HalfIdentity,
    /// A bearer token would cross the network in plain text.
    #[error("a backend token is only sent over TLS: give --backend-tls-ca for the tcp:// backend {0}")]
    TokenWithoutTls(String),
    /// The endpoint could not be configured.
    #[error(transparent)]
    Endpoint(#[from] vk_proto::endpoint::Error),
    /// The scope or token cannot be sent as metadata.
    #[error("the scope or token is not valid request metadata: {0}")]
    Metadata(String),
}

fn read(path: &PathBuf) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::ReadFile { path: path.clone(), source })
}

impl BackendSettings {
    /// A lazily connecting channel (it reconnects by itself after failures).
    pub fn channel(&self) -> Result<Channel, ConnectError> {
        if matches!(self.endpoint, Endpoint::Tcp(_)) && self.tls.is_none() && self.token.is_some() {
            return Err(ConnectError::TokenWithoutTls(self.endpoint.to_string()));
        }
        let tls = match &self.tls {
            None => None,
            Some(files) => {
                let mut config = ClientTlsConfig::new();
                if let Some(ca) = &files.ca {
                    config = config.ca_certificate(Certificate::from_pem(read(ca)?));
                }
                match (&files.cert, &files.key) {
                    (Some(cert), Some(key)) => {
                        config = config.identity(Identity::from_pem(read(cert)?, read(key)?))
                    }
                    (None, None) => {}
                    _ => return Err(ConnectError::HalfIdentity),
                }
                if let Some(name) = &files.server_name {
                    config = config.domain_name(name.clone());
                }
                Some(config)
            }
        };
        Ok(self.endpoint.channel(tls)?)
    }

    /// The interceptor adding the scope and the token to every call.
    pub fn interceptor(&self, scope: &vk_proto::Scope) -> Result<CallInterceptor, ConnectError> {
        let scope = ScopeInterceptor::new(scope).map_err(|e| ConnectError::Metadata(e.to_string()))?;
        let token = match &self.token {
            None => None,
            Some(token) => Some(
                format!("Bearer {}", token.expose())
                    .parse::<MetadataValue<Ascii>>()
                    .map_err(|_| ConnectError::Metadata("the bearer token is not ASCII".to_owned()))?,
            ),
        };
        Ok(CallInterceptor { scope, token: token.map(Sensitive::new) })
    }
}

/// Adds the scope and the bearer token to outgoing requests.
#[derive(Debug, Clone)]
pub struct CallInterceptor {
    scope: ScopeInterceptor,
    token: Option<Sensitive<MetadataValue<Ascii>>>,
}

impl Interceptor for CallInterceptor {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = self.scope.call(request)?;
        if let Some(token) = &self.token {
            request.metadata_mut().insert("authorization", token.expose().clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interceptor_adds_scope_and_token() {
        let settings = BackendSettings {
            endpoint: "unix:///tmp/x.sock".parse().expect("address"),
            tls: None,
            token: Some(Sensitive::new("t0ken".into())),
        };
        let mut interceptor = settings.interceptor(&vk_proto::Scope::new("cluster", "node")).expect("ascii");
        let request = interceptor.call(tonic::Request::new(())).expect("intercepted");
        assert_eq!(
            request.metadata().get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer t0ken")
        );
        assert_eq!(request.metadata().get("vk-node-name").and_then(|v| v.to_str().ok()), Some("node"));
        assert!(!format!("{interceptor:?}").contains("t0ken"));
    }

    #[test]
    fn a_certificate_without_key_is_refused() {
        let settings = BackendSettings {
            endpoint: "tcp://127.0.0.1:1".parse().expect("address"),
            tls: Some(TlsFiles { cert: Some("/dev/null".into()), ..TlsFiles::default() }),
            token: None,
        };
        assert!(matches!(settings.channel(), Err(ConnectError::HalfIdentity)));
    }

    #[tokio::test]
    async fn a_token_is_never_sent_over_plain_tcp() {
        let settings = BackendSettings {
            endpoint: "tcp://backend.example:7443".parse().expect("address"),
            tls: None,
            token: Some(Sensitive::new("t0ken".into())),
        };
        let refused = settings.channel().expect_err("plain text with a token");
        assert!(matches!(refused, ConnectError::TokenWithoutTls(_)), "{refused}");
        assert!(refused.to_string().contains("--backend-tls-ca"), "{refused}");
        let unix = BackendSettings { endpoint: "unix:///tmp/x.sock".parse().expect("address"), ..settings };
        assert!(unix.channel().is_ok(), "a Unix socket never leaves the machine");
    }
}
