//! The benchmark cases, in the order of issue 10.

pub mod burst;
mod direct;
pub mod floor;
pub mod memory;
pub mod pacing;
pub mod steady;
pub mod streams;
