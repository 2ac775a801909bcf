//! An ARM-compatible emulator of Azure Container Instances (api-version 2025-09-01) for local development
//! and tests. Loopback only. See `Emulator::start` and the `aci-emulator` binary.

pub mod admin;
pub mod arm;
pub mod auth;
pub mod config;
pub mod counters;
pub mod exec_ws;
pub mod faults;
pub mod groups;
pub mod images;
pub mod lifecycle;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod operations;
pub mod provider_registration;
pub mod runtime;
pub mod server;
pub mod state;
pub mod timeline;
pub mod tls;
pub mod usages;

pub use arm::GroupRef;
pub use config::{Config, Runtime};
pub use faults::{FaultKind, FaultRule};
pub use server::{Emulator, EmulatorHandle, StartError};
