//! A container group (read with GET) → the full `PodState`: the pod as last given (from the
//! stored copy in its tags), its status, events, deletion flag and resource id.

use vk_proto::v1;

use super::container_state::timestamp;
use super::{pod_status, provider_events};
use crate::model::ContainerGroup;
use crate::translate::stored_pod::{self, StoredPodError};
use crate::translate::tags::GroupOwner;

/// Why a group cannot be shown as a pod.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The group lacks this backend's owner tags.
    #[error("building pod state: container group {0:?} was not created by this backend")]
    NotOurs(String),
    /// The stored pod is missing or corrupt.
    #[error("building pod state of container group {group:?}: {source}")]
    StoredPod {
        /// Group name.
        group: String,
        /// What went wrong.
        source: StoredPodError,
    },
}

/// The pod state of a group.
pub fn pod_state(group: &ContainerGroup) -> Result<v1::PodState, StatusError> {
    let name = group.name.clone().unwrap_or_default();
    let owner = GroupOwner::from_tags(&group.tags).ok_or_else(|| StatusError::NotOurs(name.clone()))?;
    let pod =
        stored_pod::decode(&group.tags).map_err(|source| StatusError::StoredPod { group: name, source })?;
    Ok(v1::PodState {
        pod: Some(pod),
        status: Some(pod_status(group, timestamp(owner.accepted_at))),
        events: provider_events(group),
        deleting: group.properties.provisioning_state.as_deref() == Some("Deleting"),
        provider_resource_id: group.id.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{TranslateConfig, translate};

    #[test]
    fn a_translated_group_reads_back_as_the_same_pod_with_pending_status() {
        let pod = v1::Pod {
            meta: Some(v1::PodMeta {
                uid: "u".into(),
                namespace: "ns".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(v1::PodSpec {
                containers: vec![v1::Container {
                    name: "c".into(),
                    image: "nginx".into(),
                    env: vec![v1::EnvVar { name: "S".into(), value: "secret".into(), secret: true }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            spec_hash: "h".into(),
        };
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let t = translate(&pod, &TranslateConfig::new("cl", "node", "westus"), at).expect("translates");
        let mut group = t.group;
        group.id = Some(
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerInstance/containerGroups/x"
                .into(),
        );
        group.properties.provisioning_state = Some("Deleting".into());
        let state = pod_state(&group).expect("our group");
        assert_eq!(state.pod, Some(stored_pod::without_secrets(&pod)));
        assert!(state.deleting);
        let status = state.status.expect("status");
        assert_eq!(status.phase, v1::PodPhase::Pending as i32);
        assert_eq!(status.start_time.map(|t| t.seconds), Some(1_700_000_000));
        assert!(state.provider_resource_id.ends_with("/x"));
    }

    #[test]
    fn a_foreign_group_is_not_shown() {
        assert!(matches!(pod_state(&ContainerGroup::default()), Err(StatusError::NotOurs(_))));
    }
}
