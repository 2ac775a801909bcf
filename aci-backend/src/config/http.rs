//! The HTTP client shared by ARM calls and token requests.

use std::time::Duration;

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The CA file is not PEM.
    #[error("building the HTTP client: the extra CA certificate is not valid PEM: {0}")]
    BadCa(String),
    /// reqwest refused the settings.
    #[error("building the HTTP client: {0}")]
    Build(String),
}

/// A client that also trusts `extra_ca_pem` (for the emulator or a private cloud).
pub fn http_client(extra_ca_pem: Option<&[u8]>) -> Result<reqwest::Client, HttpClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("vk-aci-backend/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = extra_ca_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| HttpClientError::BadCa(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| HttpClientError::Build(e.to_string()))
}
