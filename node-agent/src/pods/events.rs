//! Kubernetes Events for pods: provider events (one Event per stable key, updated when it
//! recurs) and the agent's own failures (deduplicated by reason and message).

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use sha2::{Digest, Sha256};
use tracing::warn;
use vk_proto::v1::{EventType, ProviderEvent};

use super::status::{now, time};

/// The component name on Events.
pub const COMPONENT: &str = "node-agent";

/// One event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Stable identity within the pod.
    pub key: String,
    /// CamelCase reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    /// Occurrences.
    pub count: i32,
    /// First occurrence.
    pub first: Time,
    /// Latest occurrence.
    pub last: Time,
    /// Container it concerns, if any.
    pub container: Option<String>,
}

impl EventRecord {
    /// An event of the agent itself.
    pub fn agent(reason: &str, message: &str, warning: bool) -> Self {
        let at = now();
        Self {
            key: format!("agent/{reason}/{message}"),
            reason: reason.to_owned(),
            message: message.to_owned(),
            type_: if warning { "Warning" } else { "Normal" },
            count: 1,
            first: at.clone(),
            last: at,
            container: None,
        }
    }

    /// A provider event.
    pub fn provider(event: &ProviderEvent) -> Self {
        let at = now();
        Self {
            key: format!("provider/{}", event.key),
            reason: event.reason.clone(),
            message: event.message.clone(),
            type_: if event.r#type == EventType::Warning as i32 { "Warning" } else { "Normal" },
            count: event.count.max(1),
            first: event.first_timestamp.as_ref().and_then(time).unwrap_or_else(|| at.clone()),
            last: event.last_timestamp.as_ref().and_then(time).unwrap_or(at),
            container: Some(event.container_name.clone()).filter(|c| !c.is_empty()),
        }
    }
}

/// The Event name for `key` of a pod: stable, so a restarted agent updates instead of
/// duplicating.
pub fn event_name(pod_name: &str, uid: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{uid}/{key}").as_bytes());
    format!("{pod_name}.{}", &hex::encode(digest)[..16])
}

/// What was last written for one event key: count, last time, message.
type Occurrence = (i32, Time, String);

/// Writes Events, remembering what was written per pod to skip repeats.
pub struct EventRecorder {
    client: Client,
    node_name: String,
    seen: Mutex<HashMap<String, HashMap<String, Occurrence>>>,
}

impl EventRecorder {
    /// A recorder acting as `node_name`.
    pub fn new(client: Client, node_name: String) -> Self {
        Self { client, node_name, seen: Mutex::new(HashMap::new()) }
    }

    /// Forgets a pod that is gone.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(uid);
        }
    }

    fn is_new(&self, uid: &str, record: &EventRecord) -> bool {
        let Ok(mut seen) = self.seen.lock() else { return true };
        let per_pod = seen.entry(uid.to_owned()).or_default();
        let value = (record.count, record.last.clone(), record.message.clone());
        match per_pod.get(&record.key) {
            Some(old) if record.key.starts_with("agent/") || *old == value => false,
            _ => {
                per_pod.insert(record.key.clone(), value);
                true
            }
        }
    }

    /// Records `event` for `pod` unless the same occurrence was already written.
    pub async fn record(&self, pod: &Pod, event: EventRecord) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if !self.is_new(&uid, &event) {
            return;
        }
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let name = event_name(&pod_name, &uid, &event.key);
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let object = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Pod".to_owned()),
                name: Some(pod_name),
                namespace: Some(namespace),
                uid: Some(uid),
                field_path: event.container.as_ref().map(|c| format!("spec.containers{{{c}}}")),
                ..ObjectReference::default()
            },
            reason: Some(event.reason.clone()),
            message: Some(event.message.clone()),
            type_: Some(event.type_.to_owned()),
            count: Some(event.count),
            first_timestamp: Some(event.first.clone()),
            last_timestamp: Some(event.last.clone()),
            source: Some(EventSource {
                component: Some(COMPONENT.to_owned()),
                host: Some(self.node_name.clone()),
            }),
            reporting_component: Some(COMPONENT.to_owned()),
            reporting_instance: Some(self.node_name.clone()),
            ..Event::default()
        };
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let patch = serde_json::json!({
                    "count": event.count,
                    "lastTimestamp": event.last,
                    "message": event.message,
                });
                if let Err(error) = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    warn!(%error, event = %name, "updating an event failed");
                }
            }
            Err(error) => warn!(%error, event = %name, "recording an event failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_stable_per_pod_and_key() {
        assert_eq!(event_name("web", "u1", "k"), event_name("web", "u1", "k"));
        assert_ne!(event_name("web", "u1", "k"), event_name("web", "u2", "k"));
        assert!(event_name("web", "u1", "k").starts_with("web."));
    }

    #[tokio::test]
    async fn a_provider_event_is_written_again_only_when_it_recurs() {
        vk_proto::tls::install_crypto_provider();
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("valid url"));
        let recorder = EventRecorder::new(Client::try_from(config).expect("client"), "vk".into());
        let mut event =
            EventRecord::provider(&ProviderEvent { key: "k".into(), count: 1, ..ProviderEvent::default() });
        assert!(recorder.is_new("u", &event));
        assert!(!recorder.is_new("u", &event), "the same occurrence");
        event.count = 2;
        assert!(recorder.is_new("u", &event), "it happened again");
        assert!(recorder.is_new("other-pod", &event));
        let failure = EventRecord::agent("Failed", "Error: x", true);
        assert!(recorder.is_new("u", &failure));
        assert!(!recorder.is_new("u", &failure), "agent failures are recorded once");
        recorder.forget("u");
        assert!(recorder.is_new("u", &failure));
    }

    #[test]
    fn provider_events_keep_their_type_count_and_container() {
        let record = EventRecord::provider(&ProviderEvent {
            key: "pull-1".into(),
            reason: "Failed".into(),
            message: "image not found".into(),
            r#type: EventType::Warning as i32,
            count: 3,
            container_name: "app".into(),
            ..ProviderEvent::default()
        });
        assert_eq!((record.type_, record.count), ("Warning", 3));
        assert_eq!(record.container.as_deref(), Some("app"));
        assert_eq!(record.key, "provider/pull-1");
    }
}
