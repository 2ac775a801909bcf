//! `aci-backend`: the provider API on Azure Container Instances. It owns every Azure call:
//! translating resolved pods into container groups, tracking their state, and the ARM client.

pub mod arm;
pub mod config;
pub mod engine;
pub mod grpc;
pub mod model;
pub mod pods;
pub mod serve;
pub mod startup;
pub mod stats;
pub mod status;
pub mod streams;
pub mod translate;
