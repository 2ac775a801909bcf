//! ARM request throttling and ACI quotas.

mod arm_buckets;
mod quotas;

pub use arm_buckets::{ArmBuckets, Verdict};
pub use quotas::Quotas;
