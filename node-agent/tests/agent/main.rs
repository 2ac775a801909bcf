//! Component tests: node-agent against a real kube-apiserver 1.20 (the local control plane
//! harness) and the in-memory reference backend over a Unix socket. All tests share one
//! control plane; each has its own namespace, node and backend.

mod binary;
mod lifecycle;
mod node;
mod pods;
mod proxy;
mod remote;
mod restart;
mod support;
