//! Asynchronous operations (`Azure-AsyncOperation`) of PUT, DELETE, start and restart.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::arm::GroupRef;
use crate::groups::{Provisioning, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    Create,
    Delete,
    Start,
    Restart,
}

#[derive(Clone, Debug)]
struct Tracked {
    kind: OperationKind,
    group: GroupRef,
    generation: u64,
    start: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Operations {
    ops: Mutex<HashMap<String, Tracked>>,
}

impl Operations {
    /// Tracks a new operation; returns its id.
    pub fn begin(&self, kind: OperationKind, group: &GroupRef, generation: u64) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(mut ops) = self.ops.lock() {
            ops.insert(id.clone(), Tracked { kind, group: group.clone(), generation, start: Utc::now() });
        }
        id
    }

    /// The status body, or None for an unknown id.
    pub fn status(&self, id: &str, subscription: &str, location: &str, store: &Store) -> Option<Value> {
        let op = self.ops.lock().ok()?.get(id).cloned()?;
        if !op.group.subscription.eq_ignore_ascii_case(subscription) {
            return None;
        }
        let group = store.get(&op.group.key());
        let (status, error) = match (op.kind, group) {
            (OperationKind::Delete, None) => ("Succeeded", None),
            (OperationKind::Delete, Some(_)) => ("InProgress", None),
            (_, None) => ("Canceled", Some(("Canceled", "The container group was deleted."))),
            (_, Some(g)) if g.generation != op.generation => ("Succeeded", None),
            (_, Some(g)) => match g.provisioning {
                Provisioning::Succeeded => ("Succeeded", None),
                Provisioning::Failed => ("Failed", Some(("DeploymentFailed", "The container group failed."))),
                _ => ("InProgress", None),
            },
        };
        let mut body = json!({
            "id": format!(
                "/subscriptions/{subscription}/providers/Microsoft.ContainerInstance/locations/{location}/operations/{id}"
            ),
            "name": id,
            "status": status,
            "startTime": op.start.to_rfc3339_opts(SecondsFormat::Millis, true),
        });
        if status != "InProgress" {
            body["endTime"] = json!(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        if let Some((code, message)) = error {
            body["error"] = json!({ "code": code, "message": message });
        }
        Some(body)
    }
}
