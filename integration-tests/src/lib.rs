//! Integration test harness: a real local Kubernetes control plane for tests, and the local
//! stack (emulator, aci-backend, node-agent) of the quick start and the end-to-end tests.

pub mod control_plane;
pub mod local_stack;
