//! ARM front door: path parsing, api-version and auth checks, throttling, faults and error bodies.

mod dispatch;
mod error;
mod route;

pub use dispatch::{DropConnection, handle};
pub use error::ArmError;
pub use route::{GroupRef, Match, Operation, parse};
