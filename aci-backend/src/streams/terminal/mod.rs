//! A container terminal: the byte pipe behind ACI's exec and attach websockets, and what opens one.

mod aci;
#[cfg(test)]
pub mod memory;
mod tls;
mod websocket;

use std::pin::Pin;

use bytes::Bytes;
use futures::{Sink, Stream};

pub use aci::AciTerminals;
pub use tls::{TlsError, websocket_tls};
pub use websocket::{TerminalError, WsConnector};

use crate::arm::ArmError;

/// What the terminal writes (stderr merged into stdout, as ACI does). Ends when it closes.
pub type TerminalOutput = Pin<Box<dyn Stream<Item = Result<Bytes, TerminalError>> + Send>>;
/// What is typed into the terminal. Closing it closes the session.
pub type TerminalInput = Pin<Box<dyn Sink<Bytes, Error = TerminalError> + Send>>;

/// A connected terminal.
pub struct Terminal {
    /// Output.
    pub output: TerminalOutput,
    /// Input.
    pub input: TerminalInput,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal").finish_non_exhaustive()
    }
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
}

impl Default for TermSize {
    fn default() -> Self {
        TermSize { rows: 24, cols: 80 }
    }
}

/// Why a terminal could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// ARM refused or failed the exec / attach request.
    #[error("opening the container terminal: {0}")]
    Arm(#[from] ArmError),
    /// The websocket could not be connected.
    #[error("opening the container terminal: {0}")]
    Connect(#[from] TerminalError),
}

/// Opens terminals in one container.
#[async_trait::async_trait]
pub trait TerminalOpener: Send + Sync {
    /// Runs `command` (one executable, no arguments) under a terminal of `size`.
    async fn exec(&self, command: &str, size: TermSize) -> Result<Terminal, OpenError>;
    /// Attaches to the container's main process.
    async fn attach(&self) -> Result<Terminal, OpenError>;
}
