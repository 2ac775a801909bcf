//! The tower layers of the ARM client, one concern each.

pub mod auth;
pub mod budget;
pub mod classify;
pub mod concurrency;
pub mod metrics;
pub mod retry;
pub mod timeout;
pub mod trace;
