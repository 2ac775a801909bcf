//! Kubeconfig files with inline certificates. Written as JSON, which both `kubectl` and
//! `kube` read (JSON is YAML).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::certs::CertPair;

/// The cluster and context name used in every kubeconfig the harness writes.
pub const CLUSTER_NAME: &str = "vk-aci-test";

/// Renders a kubeconfig for `user` authenticating with the client certificate `client`.
pub fn render(server_url: &str, ca_pem: &str, user: &str, client: &CertPair) -> String {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CLUSTER_NAME,
            "cluster": {
                "server": server_url,
                "certificate-authority-data": STANDARD.encode(ca_pem),
            },
        }],
        "users": [{
            "name": user,
            "user": {
                "client-certificate-data": STANDARD.encode(&client.cert_pem),
                "client-key-data": STANDARD.encode(&client.key_pem),
            },
        }],
        "contexts": [{
            "name": CLUSTER_NAME,
            "context": { "cluster": CLUSTER_NAME, "user": user, "namespace": "default" },
        }],
        "current-context": CLUSTER_NAME,
    });
    format!("{config:#}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubeconfig_is_readable_by_kube() {
        let client = CertPair { cert_pem: "cert".into(), key_pem: "key".into() };
        let text = render("https://127.0.0.1:6443", "ca", "admin", &client);
        let config = kube::config::Kubeconfig::from_yaml(&text).expect("kube parses the kubeconfig");
        assert_eq!(config.current_context.as_deref(), Some(CLUSTER_NAME));
        let cluster = config.clusters[0].cluster.as_ref().expect("a cluster entry");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some(STANDARD.encode("ca").as_str()));
        let user = config.auth_infos[0].auth_info.as_ref().expect("a user entry");
        assert_eq!(user.client_certificate_data.as_deref(), Some(STANDARD.encode("cert").as_str()));
    }
}
