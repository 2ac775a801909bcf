//! An in-memory backend of the provider API, for tests and as a second conformance subject.
//!
//! Pods are kept per scope (cluster id, node name from the request metadata), keyed by UID,
//! exactly as given. A simulated lifecycle moves them from Pending to Running (with a pod IP)
//! and runs their containers' commands through a tiny interpreter (see [`script`]), so logs
//! and exec carry real bytes and exit codes, and restart policies apply. Test hooks let a test
//! set a pod's status, end a container with an exit code, inject errors and read what the
//! backend received.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use provider_testkit::reference::{ReferenceBackend, ReferenceConfig};
//! let backend = ReferenceBackend::new(ReferenceConfig::default());
//! let server = backend.serve_unix(std::path::Path::new("/tmp/provider.sock")).await?;
//! // ... connect with vk_proto::Endpoint::channel, then:
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

mod config;
mod exec;
mod hooks;
mod lifecycle;
pub mod logs;
mod node;
pub mod script;
mod server;
mod service;
mod store;
mod validate;
mod watch;

use std::sync::Arc;

pub use config::{Faults, ReferenceConfig};
pub use hooks::HookError;
pub use server::{ServeError, ServerHandle, ServerTls};
pub use service::ProviderService;
pub use store::ResizeRecord;
pub use validate::problems as validation_problems;

/// The rpcs of the provider service, to aim injected errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// CreatePod.
    CreatePod,
    /// UpdatePod.
    UpdatePod,
    /// DeletePod.
    DeletePod,
    /// GetPod.
    GetPod,
    /// ListPods.
    ListPods,
    /// WatchPods.
    WatchPods,
    /// GetContainerLogs.
    GetContainerLogs,
    /// Exec.
    Exec,
    /// Attach.
    Attach,
    /// GetNodeInfo.
    GetNodeInfo,
    /// GetStatsSummary.
    GetStatsSummary,
}

/// An in-memory provider backend. Clones share the same pods.
#[derive(Debug, Clone)]
pub struct ReferenceBackend {
    store: Arc<store::Store>,
}

impl ReferenceBackend {
    /// An empty backend.
    pub fn new(config: ReferenceConfig) -> Self {
        Self { store: store::Store::new(config) }
    }

    /// The tonic service, to mount on a server of your own.
    pub fn service(&self) -> vk_proto::v1::provider_server::ProviderServer<ProviderService> {
        vk_proto::v1::provider_server::ProviderServer::new(ProviderService::new(self.store.clone()))
    }
}
