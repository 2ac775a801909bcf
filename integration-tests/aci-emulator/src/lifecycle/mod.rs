//! Simulated lifecycle of container groups (and their containers' processes in the process runtime).

mod controls;
mod group;
mod instance;

pub use controls::Controls;
pub use group::{Deploy, deploy, stop};
