//! The kubelet HTTPS API that kube-apiserver calls for logs, exec, attach and stats.
//!
//! - [`spdy`]: SPDY/3.1 server connections (what the apiserver uses towards kubelets).
//! - [`websocket`]: the Kubernetes channel protocols over WebSocket.
//! - [`remotecommand`]: exec and attach over either, bridged to the provider.
//! - [`server`]: the HTTPS server with authentication, authorization and routes.

pub mod remotecommand;
pub mod server;
pub mod spdy;
pub mod websocket;

#[cfg(test)]
pub(crate) mod test_provider;
