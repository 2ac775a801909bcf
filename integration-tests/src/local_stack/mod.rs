//! The local stack: the ACI emulator, aci-backend and node-agent processes wired to a local
//! control plane, as the quick start (`vk-local`) and the end-to-end tests run them.
//!
//! Every process runs under the control plane harness's watchdog, so it ends with the
//! process that started it. Binaries come from the directory of the running executable
//! (`target/debug`), built with `cargo build --workspace --bins`.

mod agent;
mod backend;
mod binaries;
mod connector;
mod emulator;
mod error;
pub mod examples;
mod os;
mod ports;
mod process;
mod remote_tls;
mod stack;

pub use agent::{AgentOptions, AgentProcess, node_is_ready};
pub use backend::{BackendProcess, Listen};
pub use binaries::{BIN_DIR_ENV, binary, binary_dir};
pub use connector::{SidecarConnector, SidecarSettings};
pub use emulator::{API_VERSION, AzureTarget, EmulatorProcess, ListedGroup};
pub use error::LocalStackError;
pub use os::Os;
pub use ports::{free_port, free_ports};
pub use process::Process;
pub use remote_tls::{CallerCredential, CallerFiles, RemoteCaller, ServerFiles, write_remote_tls};
pub use stack::{CONNECTOR_NAME, LocalStack, REGION, RESOURCE_GROUP, StackPaths, node_name};
