//! Tools for anyone implementing or debugging a provider backend (`vk.provider.v1`):
//!
//! - [`reference`]: an in-memory backend with a simulated lifecycle, scripted logs and an exec
//!   that interprets a handful of shell commands; node-agent tests use it as their backend.
//! - [`conformance`]: the contract of the provider API as runnable cases against any address.
//! - [`vkctl`]: a small CLI over the API.
//! - [`connect`]: how the tools reach a backend (address, TLS, token, scope).

pub mod conformance;
pub mod connect;
pub mod reference;
pub mod vkctl;
