//! Logs, exec and attach on ACI: the provider API's streaming calls over ACI's logs API and its
//! exec / attach websockets.

pub mod arm_status;
pub mod attach;
pub mod exec;
pub mod logs;
pub mod terminal;
