//! One TLS crypto provider for the whole process.
//!
//! The workspace links rustls with two crypto back ends (ring, chosen by tonic and kube; and
//! aws-lc-rs, pulled in by reqwest through azure_identity). With both, rustls cannot pick one by
//! itself and panics when a TLS configuration is built, so every process selects ring first.

/// Makes ring the process's default rustls crypto provider. Safe to call many times and from
/// many threads; the first call wins and later calls change nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_installing_a_default_provider_exists_and_a_second_call_is_harmless() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
