//! The kubelet HTTPS server: routes, authentication and authorization, and handlers.

pub mod auth;
pub mod logs;
pub mod route;
pub mod stats;
