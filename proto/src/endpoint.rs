//! Where a provider server listens or a client connects: `unix:///path/to/socket` for the
//! sidecar shape, `tcp://host:port` for a remote backend (TLS is added by the caller).

use std::path::PathBuf;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, ClientTlsConfig, Uri};

/// A provider API address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// A TCP `host:port`.
    Tcp(String),
}

/// Why an address could not be parsed or connected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address has no known scheme.
    #[error("address `{0}` must start with unix:// (a socket path) or tcp:// (host:port)")]
    UnknownScheme(String),
    /// The address has a scheme but nothing after it.
    #[error("address `{0}` names no socket path or host:port")]
    Empty(String),
    /// A TCP address lacks a port.
    #[error("address `{0}` needs a port (tcp://host:port)")]
    MissingPort(String),
    /// The channel could not be configured (bad TLS settings or URI).
    #[error("configuring the channel to {address} failed: {source}")]
    ConfigureChannel {
        /// The address.
        address: String,
        /// The cause.
        source: tonic::transport::Error,
    },
}

impl std::str::FromStr for Endpoint {
    type Err = Error;

    fn from_str(address: &str) -> Result<Self, Error> {
        if let Some(path) = address.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(Error::Empty(address.to_owned()));
            }
            Ok(Self::Unix(PathBuf::from(path)))
        } else if let Some(host_port) = address.strip_prefix("tcp://") {
            if host_port.is_empty() {
                return Err(Error::Empty(address.to_owned()));
            }
            match host_port.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(Self::Tcp(host_port.to_owned()))
                }
                _ => Err(Error::MissingPort(address.to_owned())),
            }
        } else {
            Err(Error::UnknownScheme(address.to_owned()))
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp(host_port) => write!(f, "tcp://{host_port}"),
        }
    }
}

impl Endpoint {
    /// A lazily connecting channel to this address; it connects on first use and reconnects
    /// after failures. `tls` applies to TCP addresses only.
    pub fn channel(&self, tls: Option<ClientTlsConfig>) -> Result<Channel, Error> {
        let configure = |source| Error::ConfigureChannel { address: self.to_string(), source };
        match self {
            Self::Unix(path) => {
                let path = path.clone();
                // The URI is a placeholder: the connector ignores it and dials the socket.
                let endpoint = tonic::transport::Endpoint::from_static("http://unix.socket");
                Ok(endpoint.connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
                    }
                })))
            }
            Self::Tcp(host_port) => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                let mut endpoint = tonic::transport::Endpoint::from_shared(format!("{scheme}://{host_port}"))
                    .map_err(configure)?;
                if let Some(tls) = tls {
                    crate::tls::install_crypto_provider();
                    endpoint = endpoint.tls_config(tls).map_err(configure)?;
                }
                Ok(endpoint.connect_lazy())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_and_tcp_addresses_parse_and_print_back() {
        for text in ["unix:///run/vk/provider.sock", "tcp://127.0.0.1:7443", "tcp://backend.example:443"] {
            let endpoint: Endpoint = text.parse().expect("valid address");
            assert_eq!(endpoint.to_string(), text);
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        assert!(matches!("http://x:1".parse::<Endpoint>(), Err(Error::UnknownScheme(_))));
        assert!(matches!("unix://".parse::<Endpoint>(), Err(Error::Empty(_))));
        assert!(matches!("tcp://host".parse::<Endpoint>(), Err(Error::MissingPort(_))));
        assert!(matches!("tcp://:80".parse::<Endpoint>(), Err(Error::MissingPort(_))));
    }
}
