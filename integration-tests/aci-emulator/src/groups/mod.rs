//! Container groups: model, validation, storage, rendering and the ARM operations on them.

mod actions;
mod crud;
pub mod model;
mod render;
mod store;
mod validate;

pub use actions::{attach, exec, list_logs, restart, start, stop};
pub use crud::{create_or_update, delete, get, list, update_tags};
pub use render::render;
pub use store::{ContainerState, ContainerStatus, Event, Group, GroupKey, Provisioning, Store, record_event};
pub use validate::{GroupLimits, valid_name, validate};
