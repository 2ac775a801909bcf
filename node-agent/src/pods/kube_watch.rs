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
                    buffer.insert(uid, Arc::new(pod));
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
                    shared.views().kube.insert(uid.clone(), Arc::new(pod));
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
