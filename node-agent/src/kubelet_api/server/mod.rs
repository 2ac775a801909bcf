//! The kubelet HTTPS server: routes, authentication and authorization, and handlers.

pub mod agent;
pub mod auth;
pub mod logs;
pub mod provider;
pub mod route;
pub mod serve;
pub mod service;
pub mod stats;
pub mod tls;
pub mod upgrade;

pub use agent::{Access, run_for_agent};
pub use serve::{ServeError, ServerSettings, run, serve_connection, serve_tls};
pub use service::{KubeletApi, PodDirectory};
pub use tls::{ServingCertificate, server_config};

#[cfg(test)]
mod apiserver_tests;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod kube_client_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tls_tests;
