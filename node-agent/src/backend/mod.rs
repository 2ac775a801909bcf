//! The provider backend as the agent sees it: connection settings (Unix socket, or TCP with
//! TLS and a client certificate or bearer token) and a client that adds the scope to every
//! call and records latency and errors.

mod client;
mod connect;

pub use client::{Backend, BackendError, RawClient};
pub use connect::{BackendSettings, CallInterceptor, ConnectError, TlsFiles};
