//! Container group → pod status: what ACI observed, in Kubernetes terms.

mod container_state;
mod events;
mod notes;
mod pod_state;
mod pod_status;

pub use container_state::container_status;
pub(crate) use container_state::timestamp;
pub use events::provider_events;
pub use notes::ignored_settings;
pub use pod_state::{StatusError, pod_state};
pub use pod_status::pod_status;
