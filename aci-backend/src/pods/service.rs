//! Pod operations of one scope on top of the ARM client and the status engine: create
//! (idempotent by UID), update (in place, or recreate when ACI cannot change the group),
//! delete, get and list.

use std::sync::{Arc, RwLock};

use chrono::Utc;
use http::StatusCode;
use vk_proto::v1;

use super::error::PodsError;
use crate::arm::{ArmError, Deleted};
use crate::engine::{Engine, Entry};
use crate::translate::{GroupLimits, TranslateConfig, group_name, translate};

/// The scope a call acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScope {
    /// Cluster id.
    pub cluster_id: String,
    /// Node name.
    pub node_name: String,
}

/// Pod operations.
#[derive(Debug, Clone)]
pub struct PodService {
    engine: Arc<Engine>,
    base: Arc<RwLock<TranslateConfig>>,
}

fn required(pod: &v1::Pod) -> Result<&v1::PodMeta, PodsError> {
    let meta = pod.meta.as_ref().ok_or_else(|| PodsError::BadRequest("pod.meta is required".into()))?;
    for (value, what) in
        [(&meta.uid, "pod.meta.uid"), (&meta.namespace, "pod.meta.namespace"), (&meta.name, "pod.meta.name")]
    {
        if value.is_empty() {
            return Err(PodsError::BadRequest(format!("{what} is required")));
        }
    }
    Ok(meta)
}

/// ARM errors that need an operator, explained.
fn explain(error: ArmError) -> PodsError {
    if let ArmError::Status { status, code, message, .. } = &error {
        if code == "MissingSubscriptionRegistration" {
            return PodsError::Precondition(format!(
                "the subscription has not registered Microsoft.ContainerInstance; run `az provider register \
                 --namespace Microsoft.ContainerInstance` ({message})"
            ));
        }
        if *status == StatusCode::FORBIDDEN || *status == StatusCode::UNAUTHORIZED {
            return PodsError::Precondition(format!(
                "the backend's Azure identity may not manage container groups in this resource group; grant it \
                 the Contributor role there ({code}: {message})"
            ));
        }
    }
    PodsError::Arm(error)
}

/// ACI refuses to change some properties of an existing group; only then is recreating right
/// (a plain 400 means the body itself is wrong, and deleting the running group would lose it).
fn cannot_update_in_place(status: StatusCode, code: &str) -> bool {
    status == StatusCode::CONFLICT
        || (status == StatusCode::BAD_REQUEST
            && ["NotAllowed", "NotSupported", "Immutable", "CannotBeUpdated", "CannotUpdate"]
                .iter()
                .any(|w| code.contains(w)))
}

impl PodService {
    /// Operations over `engine`; `base` carries region, OS and limits (its scope fields are replaced per call).
    pub fn new(engine: Arc<Engine>, base: TranslateConfig) -> Self {
        PodService { engine, base: Arc::new(RwLock::new(base)) }
    }

    /// Replaces the per-group maxima (from the region's capabilities).
    pub fn set_limits(&self, limits: GroupLimits) {
        let mut base = self.base.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        base.limits = limits;
    }

    /// The status engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn config(&self, scope: &CallScope) -> TranslateConfig {
        let base = self.base.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        TranslateConfig { cluster_id: scope.cluster_id.clone(), node_name: scope.node_name.clone(), ..base }
    }

    /// Creates the pod, or returns the existing one (`true`) when its UID is known.
    pub async fn create(&self, scope: &CallScope, pod: &v1::Pod) -> Result<(v1::PodState, bool), PodsError> {
        let meta = required(pod)?;
        if let Some(entry) = self.engine.find(&scope.cluster_id, &scope.node_name, &meta.uid)
            && let Some(state) = entry.state
        {
            return Ok((*state, true));
        }
        let name = group_name(&scope.cluster_id, &meta.namespace, &meta.name, &meta.uid);
        // In line for ACI's create quota first: a pod refused for quota costs ARM nothing.
        self.engine.arm().create_turn(&name).map_err(explain)?;
        // Another replica (or this one before a restart) may have created it already.
        if let Some(state) = self.engine.read(&name).await.map_err(explain)? {
            return Ok((state, true));
        }
        let translation = translate(pod, &self.config(scope), Utc::now())?;
        for warning in &translation.warnings {
            tracing::info!(pod = %meta.uid, "{warning}");
        }
        let put =
            self.engine.arm().put_group(&translation.name, &translation.group).await.map_err(explain)?;
        let mut group = put.group;
        group.name.get_or_insert_with(|| translation.name.clone());
        let state = self.engine.apply(&group).ok_or_else(|| {
            PodsError::Precondition(format!(
                "ARM accepted container group {} but its answer lacks our tags",
                translation.name
            ))
        })?;
        Ok((state, false))
    }

    /// The pod's group; when the cache does not know it, one list call makes sure it was not
    /// just created (for example by another replica) before answering that it does not exist.
    async fn lookup(&self, scope: &CallScope, uid: &str) -> Result<Option<Entry>, PodsError> {
        if let Some(entry) = self.engine.find(&scope.cluster_id, &scope.node_name, uid) {
            return Ok(Some(entry));
        }
        self.engine.refresh_list().await.map_err(explain)?;
        Ok(self.engine.find(&scope.cluster_id, &scope.node_name, uid))
    }

    async fn existing(&self, scope: &CallScope, uid: &str) -> Result<Option<v1::PodState>, PodsError> {
        let Some(entry) = self.lookup(scope, uid).await? else { return Ok(None) };
        match entry.state {
            Some(state) => Ok(Some(*state)),
            None => self.engine.read(&entry.name).await.map_err(explain),
        }
    }

    /// Replaces the pod's spec; `true` when the group had to be recreated.
    pub async fn update(&self, scope: &CallScope, pod: &v1::Pod) -> Result<(v1::PodState, bool), PodsError> {
        let meta = required(pod)?;
        let entry =
            self.lookup(scope, &meta.uid).await?.ok_or_else(|| PodsError::NotFound(meta.uid.clone()))?;
        if entry.owner.spec_hash == pod.spec_hash
            && let Some(state) = self.existing(scope, &meta.uid).await?
        {
            return Ok((state, false));
        }
        let accepted = entry.owner.accepted_at.unwrap_or_else(Utc::now);
        let translation = translate(pod, &self.config(scope), accepted)?;
        let put = match self.engine.arm().put_group(&entry.name, &translation.group).await {
            Ok(put) => Ok((put, false)),
            Err(ArmError::Status { status, code, .. }) if cannot_update_in_place(status, &code) => {
                // ACI cannot change this property in place: recreate the group under the same name.
                self.engine.arm().delete_group(&entry.name).await.map_err(explain)?;
                let put =
                    self.engine.arm().put_group(&entry.name, &translation.group).await.map_err(explain)?;
                Ok((put, true))
            }
            Err(e) => Err(explain(e)),
        }?;
        let (put, recreated) = put;
        let mut group = put.group;
        group.name.get_or_insert_with(|| entry.name.clone());
        let state = self.engine.apply(&group).ok_or_else(|| {
            PodsError::Precondition(format!("container group {} lost its tags", entry.name))
        })?;
        Ok((state, recreated))
    }

    /// Deletes the pod: `(found, gone)`.
    pub async fn delete(&self, scope: &CallScope, uid: &str) -> Result<(bool, bool), PodsError> {
        let Some(entry) = self.lookup(scope, uid).await? else {
            return Ok((false, true));
        };
        self.engine.arm().delete_turn(&entry.name).map_err(explain)?;
        match self.engine.arm().delete_group(&entry.name).await.map_err(explain)? {
            Deleted::Gone | Deleted::NotFound => {
                self.engine.forget(&entry.name);
                Ok((true, true))
            }
            Deleted::Accepted(_) => {
                self.engine.mark_deleting(&entry.name);
                Ok((true, false))
            }
        }
    }

    /// One pod's state.
    pub async fn get(&self, scope: &CallScope, uid: &str) -> Result<v1::PodState, PodsError> {
        self.existing(scope, uid).await?.ok_or_else(|| PodsError::NotFound(uid.to_string()))
    }

    /// A page of the scope's pods after `after_uid`, and the token of the next page.
    pub fn list(&self, scope: &CallScope, page_size: usize, after_uid: &str) -> (Vec<v1::PodState>, String) {
        let size = if page_size == 0 { 500 } else { page_size };
        let all: Vec<v1::PodState> = self
            .engine
            .list(&scope.cluster_id, &scope.node_name)
            .into_iter()
            .filter(|s| {
                s.pod.as_ref().and_then(|p| p.meta.as_ref()).is_some_and(|m| m.uid.as_str() > after_uid)
            })
            .collect();
        let more = all.len() > size;
        let page: Vec<v1::PodState> = all.into_iter().take(size).collect();
        let next = if more {
            page.last()
                .and_then(|s| s.pod.as_ref())
                .and_then(|p| p.meta.as_ref())
                .map(|m| m.uid.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        (page, next)
    }
}
