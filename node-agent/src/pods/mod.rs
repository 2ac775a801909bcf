//! Pods bound to the virtual node: watched in the API, created, updated and deleted in the
//! backend, with status and Events written back.

mod backend_watch;
mod controller;
mod events;
mod kube_watch;
mod plan;
mod queue;
mod relist;
mod status;
mod sync;

pub use controller::{BoundPods, PodController, PodSettings};
