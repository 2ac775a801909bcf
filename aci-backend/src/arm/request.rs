//! What flows through the ARM tower stack: one HTTP exchange with the facts the layers need.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

/// Which ARM token bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// GET: 250 burst / 25 per second per principal.
    Read,
    /// Everything else: 200 burst / 10 per second.
    Write,
}

/// Which ACI quota a request spends, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// No quota.
    None,
    /// A container group create (or redeploying update).
    Create,
    /// A container group delete.
    Delete,
}

/// One ARM call.
#[derive(Debug, Clone)]
pub struct ArmRequest {
    /// Operation name for logs, metrics and errors, for example `get_container_group`.
    pub operation: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Absolute URL including `api-version`.
    pub url: reqwest::Url,
    /// Extra headers (the auth layer adds `Authorization`).
    pub headers: HeaderMap,
    /// JSON body, if any.
    pub body: Option<Bytes>,
    /// Safe to send again after a timeout or 5xx.
    pub idempotent: bool,
    /// Quota the call spends.
    pub quota: Quota,
}

impl ArmRequest {
    /// A request whose idempotency follows its method (GET, PUT, PATCH and DELETE are).
    pub fn new(operation: &'static str, method: Method, url: reqwest::Url) -> Self {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::PATCH | Method::DELETE);
        ArmRequest {
            operation,
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            quota: Quota::None,
        }
    }

    /// Adds a JSON body.
    pub fn with_body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks the ACI quota the call spends.
    pub fn with_quota(mut self, quota: Quota) -> Self {
        self.quota = quota;
        self
    }

    /// The token bucket of this request.
    pub fn bucket(&self) -> Bucket {
        if self.method == Method::GET { Bucket::Read } else { Bucket::Write }
    }
}

/// A successful (2xx) ARM response.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers (for `Azure-AsyncOperation`, `Location`, `Retry-After`).
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}
