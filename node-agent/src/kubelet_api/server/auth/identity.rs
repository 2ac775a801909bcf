//! Who is calling: a user name and groups, from a client certificate or a token review.

use x509_parser::prelude::{FromDer, X509Certificate};

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct User {
    /// User name (a certificate's common name).
    pub name: String,
    /// Groups (a certificate's organizations).
    pub groups: Vec<String>,
    /// UID, when a token review gave one.
    pub uid: Option<String>,
}

/// The user a verified client certificate names: CN is the user, each O a group, as
/// Kubernetes reads x509 client certificates. `None` when the DER cannot be parsed or has
/// no common name.
pub fn user_from_certificate(der: &[u8]) -> Option<User> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let subject = certificate.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_owned();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_owned)).collect();
    Some(User { name, groups, uid: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_and_organizations_become_user_and_groups() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "kube-apiserver-kubelet-client");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "system:masters");
        let certificate = params.self_signed(&key).expect("certificate");
        let user = user_from_certificate(certificate.der()).expect("parsed");
        assert_eq!(user.name, "kube-apiserver-kubelet-client");
        assert_eq!(user.groups, ["system:masters"]);
    }

    #[test]
    fn garbage_is_no_user() {
        assert_eq!(user_from_certificate(b"not a certificate"), None);
    }
}
