//! Test support shared by the integration tests of this crate.
#![allow(dead_code)]

pub mod emulated;
pub mod pod_corpus;
pub mod pods;
pub mod spec_schema;
