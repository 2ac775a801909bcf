//! The watch on the API's pods bound to this node (`spec.nodeName=<node>`).

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::controller::Shared;

fn uid(pod: &Pod) -> Option<String> {
    pod.metadata.uid.clone()
}

/// The pod as kept in memory: without `managedFields`, which nothing here reads and which,
/// parsed into nested JSON maps, would cost more memory than the rest of the pod.
fn kept(mut pod: Pod) -> Arc<Pod> {
    pod.metadata.managed_fields = None;
    Arc::new(pod)
}

/// Follows the pods of this node until `shutdown`.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", shared.settings.node_name));
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut buffer: HashMap<String, Arc<Pod>> = HashMap::new();
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        match event {
            None => return,
            Some(Err(error)) => warn!(%error, "watching pods failed; retrying"),
            Some(Ok(Event::Init)) => buffer.clear(),
            Some(Ok(Event::InitApply(pod))) => {
                if let Some(uid) = uid(&pod) {
                    buffer.insert(uid, kept(pod));
                }
            }
            Some(Ok(Event::InitDone)) => {
                {
                    let mut views = shared.views();
                    views.kube = std::mem::take(&mut buffer);
                    views.kube_synced = true;
                }
                shared.queue_all();
            }
            Some(Ok(Event::Apply(pod))) => {
                if let Some(uid) = uid(&pod) {
                    shared.views().kube.insert(uid.clone(), kept(pod));
                    shared.queue.add(&uid);
                }
            }
            Some(Ok(Event::Delete(pod))) => {
                if let Some(uid) = uid(&pod) {
                    shared.views().kube.remove(&uid);
                    shared.queue.add(&uid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    #[test]
    fn a_kept_pod_has_no_managed_fields_and_keeps_the_rest() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                uid: Some("u".into()),
                managed_fields: Some(vec![ManagedFieldsEntry {
                    manager: Some("kubectl".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ..Default::default()
        };
        let kept = kept(pod);
        assert_eq!(kept.metadata.managed_fields, None);
        assert_eq!((kept.metadata.name.as_deref(), uid(&kept).as_deref()), (Some("p"), Some("u")));
    }
}
