//! Provider events for pod settings ACI ignores (lifecycle hooks, fsGroup, emptyDir medium...):
//! the translation's warnings, recomputed from the stored pod so they survive restarts, with
//! keys derived from their text so each is sent once.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use vk_proto::v1;

use super::container_state::timestamp;
use crate::translate::tags::GroupOwner;
use crate::translate::{TranslateConfig, translate};

/// One Warning event per ignored setting of `pod`, dated when the backend accepted it.
pub fn ignored_settings(pod: &v1::Pod, base: &TranslateConfig, owner: &GroupOwner) -> Vec<v1::ProviderEvent> {
    let config = TranslateConfig {
        cluster_id: owner.cluster_id.clone(),
        node_name: owner.node_name.clone(),
        ..base.clone()
    };
    let at: DateTime<Utc> =
        owner.accepted_at.unwrap_or_else(|| DateTime::from_timestamp(0, 0).unwrap_or_default());
    let Ok(translation) = translate(pod, &config, at) else { return Vec::new() };
    translation
        .warnings
        .into_iter()
        .map(|warning| {
            let hash = hex::encode(&Sha256::digest(warning.as_bytes())[..6]);
            v1::ProviderEvent {
                key: format!("-/IgnoredSetting/{hash}"),
                reason: "IgnoredSetting".into(),
                message: format!("ACI ignores {warning}"),
                r#type: v1::EventType::Warning as i32,
                count: 1,
                first_timestamp: timestamp(owner.accepted_at),
                last_timestamp: timestamp(owner.accepted_at),
                container_name: String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifecycle_hook_becomes_one_stable_warning_event() {
        let pod = v1::Pod {
            meta: Some(v1::PodMeta {
                uid: "u".into(),
                namespace: "n".into(),
                name: "p".into(),
                ..Default::default()
            }),
            spec: Some(v1::PodSpec {
                containers: vec![v1::Container {
                    name: "c".into(),
                    image: "i".into(),
                    has_lifecycle_hooks: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            spec_hash: "h".into(),
        };
        let owner = GroupOwner {
            cluster_id: "c".into(),
            node_name: "n".into(),
            namespace: "n".into(),
            pod_name: "p".into(),
            uid: "u".into(),
            spec_hash: "h".into(),
            accepted_at: DateTime::from_timestamp(1_700_000_000, 0),
        };
        let base = TranslateConfig::new("", "", "westus");
        let events = ignored_settings(&pod, &base, &owner);
        assert_eq!(events.len(), 1);
        assert!(events[0].message.contains("spec.containers[0].lifecycle"), "{}", events[0].message);
        assert_eq!(events, ignored_settings(&pod, &base, &owner), "same key and content every time");
    }
}
