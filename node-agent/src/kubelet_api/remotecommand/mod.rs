//! The Kubernetes remote-command protocol (exec and attach) on top of SPDY or WebSocket,
//! bridged to the provider's Exec and Attach streams.
//!
//! - [`protocol`]: `X-Stream-Protocol-Version` negotiation (v1 to v5) for SPDY.
//! - [`options`]: which streams the client wants, from the query string.
//! - [`session`]: the transport-independent bridge to a provider session ([`backend`]).
//! - [`over_spdy`] and [`over_websocket`]: the two transports.
//! - [`status`]: the outcome as a `metav1.Status` on the error stream.

pub mod backend;
pub mod options;
pub mod over_spdy;
pub mod over_websocket;
pub mod protocol;
pub mod resize;
pub mod session;
pub mod status;

pub use backend::{Backend, SessionKind, open};
pub use options::{ExecOptions, OptionsError};
pub use protocol::{NegotiationError, StreamProtocol, negotiate_spdy, spdy_switching_response};
pub use session::ClientIo;
pub use status::Outcome;

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod fake_backend;
#[cfg(test)]
mod kubectl_tests;
#[cfg(test)]
mod over_spdy_tests;
#[cfg(test)]
mod over_websocket_tests;
#[cfg(test)]
mod session_tests;
