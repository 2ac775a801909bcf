//! `provider-conformance`: the contract of the provider API (DESIGN section 3 and the
//! `.proto` comments) as cases run against any backend address.
//!
//! Every case reports PASS, FAIL (naming the broken rule) or SKIP (with the reason the backend
//! gave: an UNIMPLEMENTED answer or a capability it declares false). Pods the suite creates are
//! realistic (`busybox` running `sh -c` scripts) and deleted at the end.

mod cases;
mod context;
mod fixtures;
mod runner;

pub use context::{CaseError, CaseResult, Context, Settings};
pub use runner::{Case, Outcome, Report, cases, run};
