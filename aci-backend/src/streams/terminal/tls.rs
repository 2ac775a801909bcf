//! TLS settings for `wss://` terminal websockets: the platform's roots plus an optional extra CA
//! (the emulator's, or a private cloud's).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why the TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra CA is not PEM.
    #[error("building the websocket TLS settings: the extra CA certificate is not valid PEM: {0}")]
    BadCa(String),
    /// rustls refused the settings.
    #[error("building the websocket TLS settings: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A client configuration that verifies servers against the platform roots and `extra_ca_pem`.
pub fn websocket_tls(extra_ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut extra = Vec::new();
    if let Some(pem) = extra_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            extra.push(cert.map_err(|e| TlsError::BadCa(e.to_string()))?);
        }
        if extra.is_empty() {
            return Err(TlsError::BadCa("no certificate found".into()));
        }
    }
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_ca_that_is_not_pem_is_refused() {
        let err = websocket_tls(Some(b"not a certificate")).expect_err("refused");
        assert!(matches!(err, TlsError::BadCa(_)), "{err}");
    }
}
