//! Container logs on ACI's logs API: tail and timestamps from ACI; since, limit_bytes and the
//! timestamp prefix applied here; follow by polling and sending only what is new. ACI keeps no
//! logs of previous instances.

mod emit;
mod error;
pub mod follow;
pub mod lines;
mod source;
mod stream;

pub use error::LogsError;
pub use source::{AciLogs, LogSource, RunningProbe};
pub use stream::{LogStream, LogsConfig, logs};
