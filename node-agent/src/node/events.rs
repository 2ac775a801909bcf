//! Events about the Node itself (`Starting`, `NodeReady`, `NodeNotReady`), recorded in the
//! `default` namespace as the kubelet records them.

use k8s_openapi::api::core::v1::{Event, EventSource, Node, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tracing::warn;

/// Namespace of node events.
const EVENT_NAMESPACE: &str = "default";

/// Records one event about `node`; failures are logged, never fatal.
pub async fn record(client: &Client, node: &Node, reason: &str, message: &str, warning: bool) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let now = Time(Timestamp::now());
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some(EVENT_NAMESPACE.to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            kind: Some("Node".to_owned()),
            name: Some(name.clone()),
            uid: Some(name.clone()),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(EventSource { component: Some("node-agent".to_owned()), host: Some(name.clone()) }),
        reporting_component: Some("node-agent".to_owned()),
        reporting_instance: Some(name),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), EVENT_NAMESPACE);
    if let Err(error) = api.create(&PostParams::default(), &event).await {
        warn!(%error, reason, "recording a node event failed");
    }
}
