//! node-agent: the virtual node. It is the only part that talks to Kubernetes; it reaches a
//! provider backend over the `vk.provider.v1` gRPC API.
//!
//! - [`node`]: the Node object, its Lease and readiness.
//! - [`pods`]: pods bound to the node, synced with the backend; status and Events.
//! - [`resolve`]: a Kubernetes pod turned into a self-contained provider request.
//! - [`backend`]: the connection to the provider backend.
//! - [`kubelet_api`]: the kubelet HTTPS API (logs, exec, attach, stats).
//! - [`metrics`], [`flags`], [`app`]: Prometheus metrics, command line, wiring.

pub mod app;
pub mod backend;
pub mod flags;
pub mod kubelet_api;
pub mod metrics;
pub mod node;
pub mod pods;
pub mod resolve;
