//! Read-only instance views: what ACI observed.

use serde::{Deserialize, Serialize};

/// `properties.instanceView` of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInstanceView {
    /// Group events.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Group state, for example `Running`, `Succeeded`, `Failed`, `Stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `instanceView` of a container or init container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstanceView {
    /// Restarts so far.
    #[serde(default)]
    pub restart_count: i32,
    /// Current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_state: Option<ContainerState>,
    /// Previous state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<ContainerState>,
    /// Container events.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// `#/definitions/ContainerState`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// `Waiting`, `Running` or `Terminated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When this state began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Exit code (terminated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// When it finished (terminated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Human-readable detail, for example `CrashLoopBackOff: Back-off restarting failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_status: Option<String>,
}

/// `#/definitions/Event`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// How often it happened.
    #[serde(default)]
    pub count: i32,
    /// First occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Latest occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Event name, for example `Pulling`.
    #[serde(default)]
    pub name: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// `Normal` or `Warning`.
    #[serde(default, rename = "type")]
    pub event_type: String,
}
