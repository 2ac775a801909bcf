//! TLS for the kubelet port: a serving certificate from files or self-signed for the node's
//! addresses, and client certificates verified against the client CA when one is given
//! (clients without a certificate may still use a bearer token).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use thiserror::Error;

/// Where the serving certificate comes from.
#[derive(Clone, Debug)]
pub enum ServingCertificate {
    /// PEM certificate chain and private key files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Generated at start, valid for these DNS names and IP addresses.
    SelfSigned {
        /// Subject alternative names.
        names: Vec<String>,
    },
}

/// Why the TLS configuration could not be built.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file without the expected item.
    #[error("{path} holds no {what}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
    /// Generating the self-signed certificate failed.
    #[error("generating a self-signed serving certificate: {0}")]
    Generate(String),
    /// rustls refused the configuration.
    #[error("configuring TLS: {0}")]
    Config(String),
}

/// The server configuration: HTTP/1.1 only (upgrades need it).
pub fn server_config(
    serving: &ServingCertificate,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let (chain, key) = match serving {
        ServingCertificate::Files { cert, key } => (read_certificates(cert)?, read_key(key)?),
        ServingCertificate::SelfSigned { names } => {
            let generated = rcgen::generate_simple_self_signed(names.clone())
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
            (vec![generated.cert.der().clone()], key)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates(path)? {
                roots
                    .add(certificate)
                    .map_err(|e| TlsError::Config(format!("client CA {}: {e}", path.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certificates = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read { path: path.to_owned(), source })?;
    if certificates.is_empty() {
        return Err(TlsError::Missing { path: path.to_owned(), what: "certificate" });
    }
    Ok(certificates)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Read { path: path.to_owned(), source })?
        .ok_or_else(|| TlsError::Missing { path: path.to_owned(), what: "private key" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_generated_for_the_node_addresses() {
        let names = vec!["vk-node".to_owned(), "10.0.0.4".to_owned()];
        let config = server_config(&ServingCertificate::SelfSigned { names }, None).expect("config");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn files_and_a_client_ca_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        std::fs::write(dir.path().join("tls.crt"), cert.pem()).expect("write");
        std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).expect("write");
        let serving =
            ServingCertificate::Files { cert: dir.path().join("tls.crt"), key: dir.path().join("tls.key") };
        server_config(&serving, Some(&dir.path().join("tls.crt"))).expect("config");
    }

    #[test]
    fn missing_or_empty_files_are_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("empty.pem"), "").expect("write");
        let serving = ServingCertificate::Files {
            cert: dir.path().join("empty.pem"),
            key: dir.path().join("missing.key"),
        };
        let err = server_config(&serving, None).expect_err("no certificate");
        assert!(matches!(err, TlsError::Missing { what: "certificate", .. }), "{err}");
        let serving = ServingCertificate::SelfSigned { names: vec!["n".into()] };
        let err = server_config(&serving, Some(&dir.path().join("missing.pem"))).expect_err("no CA file");
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
    }
}
