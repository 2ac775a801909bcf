//! Serving the provider API (Unix socket or TLS TCP) and knowing who calls.

pub mod callers;
mod server;

pub use callers::{Caller, Callers, CallersError};
pub use server::{ServeError, TcpSecurity, serve};
