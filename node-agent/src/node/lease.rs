//! The node's Lease in `kube-node-lease`: the heartbeat the node lifecycle controller
//! watches. Renewed every 10 s with a 40 s duration by default.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::PostParams;

/// Namespace of node leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Why renewing the lease failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Reading the lease failed.
    #[error("reading lease {LEASE_NAMESPACE}/{name} failed: {source}")]
    Get {
        /// Lease name.
        name: String,
        /// The cause.
        source: kube::Error,
    },
    /// Creating or updating the lease failed.
    #[error("writing lease {LEASE_NAMESPACE}/{name} failed: {source}")]
    Write {
        /// Lease name.
        name: String,
        /// The cause.
        source: kube::Error,
    },
}

/// The lease spec for `node_name`, renewed at `now`.
pub fn lease_spec(node_name: &str, duration_seconds: i32, now: MicroTime) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(node_name.to_owned()),
        lease_duration_seconds: Some(duration_seconds),
        renew_time: Some(now),
        ..LeaseSpec::default()
    }
}

/// The owner reference that makes the lease go away with the Node.
pub fn owned_by(node: &Node) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Node".to_owned(),
        name: node.metadata.name.clone()?,
        uid: node.metadata.uid.clone()?,
        ..OwnerReference::default()
    })
}

/// Creates or renews the lease of `node`.
pub async fn renew(
    api: &Api<Lease>,
    node: &Node,
    duration_seconds: i32,
    now: MicroTime,
) -> Result<(), LeaseError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let existing =
        api.get_opt(&name).await.map_err(|source| LeaseError::Get { name: name.clone(), source })?;
    let spec = lease_spec(&name, duration_seconds, now);
    let write = |source| LeaseError::Write { name: name.clone(), source };
    match existing {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(LEASE_NAMESPACE.to_owned()),
                    owner_references: owned_by(node).map(|o| vec![o]),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease).await.map_err(write)?;
        }
        Some(mut lease) => {
            lease.spec = Some(spec);
            if lease.metadata.owner_references.as_ref().is_none_or(Vec::is_empty) {
                lease.metadata.owner_references = owned_by(node).map(|o| vec![o]);
            }
            api.replace(&name, &PostParams::default(), &lease).await.map_err(write)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    #[test]
    fn the_lease_names_its_holder_and_duration() {
        let now = MicroTime(Timestamp::from_second(1_700_000_000).expect("valid time"));
        let spec = lease_spec("vk", 40, now.clone());
        assert_eq!(spec.holder_identity.as_deref(), Some("vk"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert_eq!(spec.renew_time, Some(now));
    }

    #[test]
    fn the_owner_is_the_node_once_it_has_a_uid() {
        let mut node = Node {
            metadata: ObjectMeta { name: Some("vk".into()), ..ObjectMeta::default() },
            ..Node::default()
        };
        assert!(owned_by(&node).is_none());
        node.metadata.uid = Some("u".into());
        let owner = owned_by(&node).expect("owner");
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Node", "vk", "u"));
    }
}
