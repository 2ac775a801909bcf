//! node-agent: the virtual node. It is the only part that talks to Kubernetes; it reaches a
//! provider backend over the `vk.provider.v1` gRPC API.

pub mod app;
pub mod backend;
pub mod flags;
pub mod kubelet_api;
pub mod metrics;
pub mod node;
pub mod pods;
pub mod resolve;
