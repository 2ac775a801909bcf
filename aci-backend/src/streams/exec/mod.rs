//! Exec that works on ACI: the command runs through the container's own shell so arguments arrive
//! intact, stdin reaches it and its real exit status comes back (see [`session`]).

mod error;
pub mod marker;
pub mod quote;
pub mod script;
mod session;
pub mod state;
pub mod stdin;

pub use error::ExecError;
pub use session::{POSIX_SHELL, SHELL_START, SessionStream, TargetOs, exec, term_size};
pub(crate) use session::{Relay, spawn, started};
