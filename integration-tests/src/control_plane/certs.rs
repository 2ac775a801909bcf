//! The control plane's PKI: one cluster CA that signs the apiserver's serving certificate and
//! every client certificate (admin, scheduler, controller-manager, the apiserver's kubelet
//! client), plus the service-account signing key pair.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The first address of `--service-cluster-ip-range`: the `kubernetes` Service's ClusterIP.
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Generating a certificate or key failed.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("generating a key pair for {0}")]
    GenerateKey(&'static str, #[source] rcgen::Error),
    #[error("building certificate parameters for {0}")]
    BuildParams(&'static str, #[source] rcgen::Error),
    #[error("signing the certificate for {0}")]
    Sign(&'static str, #[source] rcgen::Error),
}

/// A PEM certificate with its PEM (PKCS#8) private key.
#[derive(Clone)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CertPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertPair").field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// Everything the components and clients need to talk TLS to each other.
#[derive(Clone)]
pub struct Pki {
    /// The cluster CA (also the CA of the apiserver's kubelet client certificate).
    pub ca: CertPair,
    /// The apiserver's serving certificate.
    pub apiserver_serving: CertPair,
    /// What the apiserver presents to kubelets (`--kubelet-client-certificate`).
    pub apiserver_kubelet_client: CertPair,
    /// `system:admin` in `system:masters`.
    pub admin: CertPair,
    /// `system:kube-scheduler`.
    pub scheduler: CertPair,
    /// `system:kube-controller-manager`.
    pub controller_manager: CertPair,
    /// The service-account token signing key (PKCS#8 private key PEM).
    pub service_account_private_key_pem: String,
    /// The matching public key (SPKI PEM).
    pub service_account_public_key_pem: String,
    /// Signs further certificates with the cluster CA.
    issuer: Arc<Issuer<'static, KeyPair>>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("ca", &self.ca).finish_non_exhaustive()
    }
}

/// Who a client certificate speaks for: Kubernetes takes the user name from the common name
/// and the group from the organization (rcgen writes at most one organization).
struct ClientIdentity<'a> {
    what: &'static str,
    common_name: &'a str,
    organization: Option<&'a str>,
}

impl Pki {
    /// Generates a fresh PKI (ECDSA P-256 keys; fast to create, accepted by Go and rustls).
    pub fn generate() -> Result<Self, CertError> {
        let ca_key = KeyPair::generate().map_err(|e| CertError::GenerateKey("the cluster CA", e))?;
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| CertError::BuildParams("the CA", e))?;
        ca_params.distinguished_name.push(DnType::CommonName, "vk-aci test cluster CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| CertError::Sign("the CA", e))?;
        let ca = CertPair { cert_pem: ca_cert.pem(), key_pem: ca_key.serialize_pem() };
        let issuer = Arc::new(Issuer::new(ca_params, ca_key));

        let client = |identity: ClientIdentity| issue_client(&issuer, identity);
        let sa_key = KeyPair::generate().map_err(|e| CertError::GenerateKey("service accounts", e))?;
        Ok(Self {
            apiserver_serving: issue_apiserver_serving(&issuer)?,
            apiserver_kubelet_client: client(ClientIdentity {
                what: "the apiserver's kubelet client",
                common_name: "kube-apiserver-kubelet-client",
                organization: Some("system:masters"),
            })?,
            admin: client(ClientIdentity {
                what: "the admin",
                common_name: "system:admin",
                organization: Some("system:masters"),
            })?,
            scheduler: client(ClientIdentity {
                what: "the scheduler",
                common_name: "system:kube-scheduler",
                organization: None,
            })?,
            controller_manager: client(ClientIdentity {
                what: "the controller-manager",
                common_name: "system:kube-controller-manager",
                organization: None,
            })?,
            service_account_private_key_pem: sa_key.serialize_pem(),
            service_account_public_key_pem: sa_key.public_key_pem(),
            ca,
            issuer,
        })
    }

    /// A client certificate for user `common_name` in group `organization`, signed by the
    /// cluster CA (e.g. `system:node:<name>` in `system:nodes` for a kubelet).
    pub fn issue_client(&self, common_name: &str, organization: Option<&str>) -> Result<CertPair, CertError> {
        issue_client(&self.issuer, ClientIdentity { what: "a client", common_name, organization })
    }
}

fn issue_apiserver_serving(issuer: &Issuer<'_, KeyPair>) -> Result<CertPair, CertError> {
    const WHAT: &str = "the apiserver";
    let key = KeyPair::generate().map_err(|e| CertError::GenerateKey(WHAT, e))?;
    let dns_names = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ];
    let mut params = CertificateParams::new(dns_names.map(String::from).to_vec())
        .map_err(|e| CertError::BuildParams(WHAT, e))?;
    params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(KUBERNETES_SERVICE_IP)));
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, issuer).map_err(|e| CertError::Sign(WHAT, e))?;
    Ok(CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

fn issue_client(issuer: &Issuer<'_, KeyPair>, identity: ClientIdentity<'_>) -> Result<CertPair, CertError> {
    let key = KeyPair::generate().map_err(|e| CertError::GenerateKey(identity.what, e))?;
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| CertError::BuildParams(identity.what, e))?;
    params.distinguished_name.push(DnType::CommonName, identity.common_name);
    if let Some(organization) = identity.organization {
        params.distinguished_name.push(DnType::OrganizationName, organization);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).map_err(|e| CertError::Sign(identity.what, e))?;
    Ok(CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_certificate_and_key_is_pem() {
        let pki = Pki::generate().expect("generating the PKI");
        for pair in [
            &pki.ca,
            &pki.apiserver_serving,
            &pki.apiserver_kubelet_client,
            &pki.admin,
            &pki.scheduler,
            &pki.controller_manager,
        ] {
            assert!(pair.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(pair.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        }
        assert!(pki.service_account_public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    }

    #[test]
    fn two_generations_produce_different_cas() {
        let first = Pki::generate().expect("generating the first PKI");
        let second = Pki::generate().expect("generating the second PKI");
        assert_ne!(first.ca.cert_pem, second.ca.cert_pem);
    }

    #[test]
    fn the_debug_output_hides_private_keys() {
        let pki = Pki::generate().expect("generating the PKI");
        let shown = format!("{pki:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
}
