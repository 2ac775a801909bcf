//! The watch on the API's pods bound to this node (`spec.nodeName=<node>`).

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::controller::Shared;
use super::relist::Relist;

fn uid(pod: &Pod) -> Option<String> {
    pod.metadata.uid.clone()
}

/// The pod as kept in memory: without `managedFields`, which nothing here reads and which,
/// parsed into nested JSON maps, would cost more memory than the rest of the pod; and with its
/// lists no longer than their contents (decoding grows them by doubling, and a list of one
/// container status keeps room for four: about 2 KB a pod).
fn kept(mut pod: Pod) -> Arc<Pod> {
    pod.metadata.managed_fields = None;
    if let Some(spec) = pod.spec.as_mut() {
        spec.containers.shrink_to_fit();
        shrink(&mut spec.init_containers);
        shrink(&mut spec.volumes);
        shrink(&mut spec.tolerations);
    }
    if let Some(status) = pod.status.as_mut() {
        shrink(&mut status.conditions);
        shrink(&mut status.container_statuses);
        shrink(&mut status.init_container_statuses);
    }
    Arc::new(pod)
}

fn shrink<T>(list: &mut Option<Vec<T>>) {
    if let Some(list) = list.as_mut() {
        list.shrink_to_fit();
    }
}

/// Follows the pods of this node until `shutdown`.
pub(crate) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={}", shared.settings.node_name));
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    // The pods of the list in progress (at start, and after a watch expired with 410 Gone).
    let mut listed = Relist::default();
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        match event {
            None => return,
            Some(Err(error)) => warn!(%error, "watching pods failed; retrying"),
            Some(Ok(Event::Init)) => listed = Relist::default(),
            Some(Ok(Event::InitApply(pod))) => {
                if let Some(uid) = uid(&pod) {
                    listed.saw(&uid);
                    shared.views().kube.insert(uid, kept(pod));
                }
            }
            Some(Ok(Event::InitDone)) => {
                {
                    let listed = std::mem::take(&mut listed);
                    let mut views = shared.views();
                    views.kube.retain(|uid, _| listed.keeps(uid));
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
    use k8s_openapi::api::core::v1::{PodSpec, Toleration};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    use super::*;

    #[test]
    fn a_kept_pod_has_no_managed_fields_and_keeps_the_rest() {
        let mut roomy = Vec::with_capacity(4);
        roomy.push(Toleration::default());
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
            spec: Some(PodSpec { tolerations: Some(roomy), ..Default::default() }),
            ..Default::default()
        };
        let kept = kept(pod);
        assert_eq!(kept.metadata.managed_fields, None);
        let tolerations =
            kept.spec.as_ref().and_then(|s| s.tolerations.as_ref()).map(|t| (t.len(), t.capacity()));
        assert_eq!(tolerations, Some((1, 1)), "lists keep no spare room");
        assert_eq!((kept.metadata.name.as_deref(), uid(&kept).as_deref()), (Some("p"), Some("u")));
    }
}
