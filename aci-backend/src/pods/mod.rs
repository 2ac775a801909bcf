//! Pod operations of a scope: what the gRPC service calls.

mod error;
mod service;

pub use error::PodsError;
pub use service::{CallScope, PodService};
