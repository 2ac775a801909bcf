//! Start-up settings: flags and environment, and the Azure credential they choose.

pub mod credentials;
pub mod flags;
pub mod http;

pub use credentials::{CredentialError, credential};
pub use flags::{CredentialKind, Flags, NodeOs};
pub use http::{HttpClientError, http_client};
