//! The ARM client: a reqwest transport behind a tower stack (auth, timeout, retry, budget,
//! concurrency, metrics, tracing) and the `Microsoft.ContainerInstance` operations on top.

mod async_operation;
mod client;
mod containers;
pub mod error;
mod groups;
pub mod layers;
pub mod metrics;
mod quota;
pub mod request;
pub mod stack;
mod subscription;
mod transport;

pub use async_operation::OperationEnd;
pub use client::{ArmClient, ArmTarget};
pub use containers::WebSocketSession;
pub use error::ArmError;
pub use groups::{Deleted, Put, operation_url};
pub use subscription::{Capability, CapabilityLimits, PROVIDERS_API_VERSION, Usage, UsageName};
pub use transport::Transport;
