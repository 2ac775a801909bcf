//! Tags that tie a container group to its pod and scope. All state lives in Azure, so these
//! tags are how a stateless backend (or another replica) finds which groups belong to which
//! cluster and node, and which pod each one runs.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use vk_proto::v1;

use super::problems::Findings;
use super::stored_pod::{self, MAX_TAG_VALUE};

/// The caller's cluster id.
pub const CLUSTER: &str = "vk-cluster-id";
/// The virtual node's name.
pub const NODE: &str = "vk-node-name";
/// The pod's namespace.
pub const NAMESPACE: &str = "vk-namespace";
/// The pod's name.
pub const POD: &str = "vk-pod-name";
/// The pod's UID.
pub const UID: &str = "vk-pod-uid";
/// The pod's creation time (RFC 3339).
pub const CREATED: &str = "vk-pod-created";
/// When the backend first accepted the pod (RFC 3339), the pod's start time.
pub const ACCEPTED: &str = "vk-accepted-at";
/// The agent's spec hash.
pub const SPEC_HASH: &str = "vk-spec-hash";

/// Who a container group belongs to, read from its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOwner {
    /// Cluster id.
    pub cluster_id: String,
    /// Node name.
    pub node_name: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod_name: String,
    /// Pod UID.
    pub uid: String,
    /// Spec hash of the pod as last given.
    pub spec_hash: String,
    /// When the backend accepted the pod.
    pub accepted_at: Option<DateTime<Utc>>,
}

impl GroupOwner {
    /// Reads the owner from a group's tags; `None` for groups this backend did not create.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Option<GroupOwner> {
        let get = |k: &str| tags.get(k).cloned();
        Some(GroupOwner {
            cluster_id: get(CLUSTER)?,
            node_name: get(NODE)?,
            namespace: get(NAMESPACE)?,
            pod_name: get(POD)?,
            uid: get(UID)?,
            spec_hash: get(SPEC_HASH).unwrap_or_default(),
            accepted_at: tags
                .get(ACCEPTED)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.to_utc()),
        })
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// All tags of a pod's group: owner, times, spec hash and the stored pod.
pub(crate) fn tags(
    pod: &v1::Pod,
    cluster_id: &str,
    node_name: &str,
    accepted_at: DateTime<Utc>,
    findings: &mut Findings,
) -> BTreeMap<String, String> {
    let meta = pod.meta.clone().unwrap_or_default();
    let mut tags = BTreeMap::new();
    let mut put = |name: &str, value: String, path: &str| {
        if value.chars().count() > MAX_TAG_VALUE {
            findings.refuse(
                path.to_string(),
                format!("longer than the {MAX_TAG_VALUE} characters of an ARM tag"),
            );
        }
        tags.insert(name.to_string(), value);
    };
    put(CLUSTER, cluster_id.to_string(), "scope.clusterId");
    put(NODE, node_name.to_string(), "scope.nodeName");
    put(NAMESPACE, meta.namespace.clone(), "metadata.namespace");
    put(POD, meta.name.clone(), "metadata.name");
    put(UID, meta.uid.clone(), "metadata.uid");
    put(SPEC_HASH, pod.spec_hash.clone(), "specHash");
    put(ACCEPTED, rfc3339(accepted_at), "acceptedAt");
    let created = meta.creation_timestamp.as_ref();
    if let Some(t) = created.and_then(|c| DateTime::from_timestamp(c.seconds, c.nanos.max(0) as u32)) {
        put(CREATED, rfc3339(t), "metadata.creationTimestamp");
    }
    match stored_pod::encode(pod) {
        Ok(stored) => tags.extend(stored),
        Err(e) => findings.refuse("metadata", e.to_string()),
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_reads_back_from_the_tags() {
        let pod = v1::Pod {
            meta: Some(v1::PodMeta {
                uid: "u-1".into(),
                namespace: "ns".into(),
                name: "web".into(),
                creation_timestamp: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
                ..Default::default()
            }),
            spec: None,
            spec_hash: "abc".into(),
        };
        let mut findings = Findings::default();
        let at = DateTime::from_timestamp(1_700_000_100, 0).expect("valid time");
        let tags = tags(&pod, "cluster-1", "vk-node", at, &mut findings);
        assert!(findings.finish().is_ok());
        assert_eq!(tags.get(CREATED).map(String::as_str), Some("2023-11-14T22:13:20Z"));
        let owner = GroupOwner::from_tags(&tags).expect("owned");
        assert_eq!(
            (
                owner.cluster_id.as_str(),
                owner.node_name.as_str(),
                owner.uid.as_str(),
                owner.spec_hash.as_str()
            ),
            ("cluster-1", "vk-node", "u-1", "abc")
        );
        assert_eq!(owner.accepted_at, Some(at));
    }

    #[test]
    fn a_group_without_owner_tags_is_not_ours() {
        assert_eq!(GroupOwner::from_tags(&BTreeMap::new()), None);
    }
}
