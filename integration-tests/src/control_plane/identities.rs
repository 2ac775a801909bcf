//! Further client identities signed by the cluster CA, e.g. a kubelet's
//! `system:node:<name>` in `system:nodes`, so tests can run components with the least
//! privileges a real cluster would give them.

use std::path::PathBuf;

use super::certs::CertPair;
use super::error::Error;
use super::instance::{ControlPlane, load_kube_config};
use super::kubeconfig;
use super::names::unique_name;

impl ControlPlane {
    /// A client certificate for user `user` in group `group` (at most one), signed by the
    /// cluster CA, so the apiserver authenticates it.
    pub fn issue_client_certificate(&self, user: &str, group: Option<&str>) -> Result<CertPair, Error> {
        Ok(self.pki().issue_client(user, group)?)
    }

    /// Writes a kubeconfig for `user` in `group` into the state directory and returns its
    /// path (for `kubectl --kubeconfig` or a component's `--kubeconfig`).
    pub fn write_kubeconfig(&self, user: &str, group: Option<&str>) -> Result<PathBuf, Error> {
        let client = self.issue_client_certificate(user, group)?;
        let dir = self.state_dir().join("kubeconfig");
        let path = dir.join(format!("{}.kubeconfig", unique_name(&user.replace(':', "-"))));
        let text = kubeconfig::render(self.server_url(), self.cluster_ca_pem(), user, &client);
        std::fs::write(&path, text).map_err(|source| Error::WriteFile { path: path.clone(), source })?;
        Ok(path)
    }

    /// A client configuration for `user` in `group`; build a client with
    /// `kube::Client::try_from(config)`.
    pub async fn kube_config_for(&self, user: &str, group: Option<&str>) -> Result<kube::Config, Error> {
        load_kube_config(&self.write_kubeconfig(user, group)?).await
    }
}
