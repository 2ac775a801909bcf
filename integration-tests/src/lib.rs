//! Integration test harness: a real local Kubernetes control plane for tests.

pub mod control_plane;
