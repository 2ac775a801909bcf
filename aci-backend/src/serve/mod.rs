//! Serving the provider API (Unix socket or TLS TCP) and knowing who calls.

pub mod callers;
pub mod health;
mod server;

pub use callers::{Caller, Callers, CallersError};
pub use server::{ServeError, TcpSecurity, serve};
