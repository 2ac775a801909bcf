//! A real local Kubernetes 1.20 control plane for tests: etcd plus kube-apiserver,
//! kube-scheduler and kube-controller-manager built from Debian's `kubernetes` source
//! package (see `control-plane/build.sh`), started on loopback ports with TLS, RBAC,
//! service accounts and a kubelet client certificate.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use integration_tests::control_plane::{ControlPlane, unique_name};
//! let plane = ControlPlane::shared().await?;
//! let namespace = plane.create_namespace("my-test").await?;
//! let client = plane.client()?;
//! let pods = plane.kubectl(&["get", "pods", "-n", &namespace]).await?;
//! # let _ = (client, pods, unique_name("node"));
//! # Ok(()) }
//! ```

mod binaries;
mod certs;
mod components;
mod error;
mod identities;
mod instance;
mod kubeconfig;
mod kubectl;
mod names;
mod process;
mod readiness;
mod shared;
mod state_dir;

pub use binaries::{Binaries, BinariesError, KUBERNETES_VERSION, build_script, cache_root, ensure_binaries};
pub use certs::{CertError, CertPair, KUBERNETES_SERVICE_IP};
pub use components::{ExtraArgs, SERVICE_ACCOUNT_ISSUER, SERVICE_CLUSTER_IP_RANGE};
pub use error::Error;
pub use instance::{ControlPlane, Options};
pub use names::unique_name;
pub use process::{ProcessError, ProcessSpec, Supervised, log_tail};
pub use state_dir::KEEP_ENV;
