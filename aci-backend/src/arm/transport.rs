//! The innermost service: one HTTP exchange through reqwest, any status accepted.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::ArmError;
use super::request::{ArmRequest, ArmResponse};

/// Sends requests with a shared reqwest client.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    /// Wraps a client (its connection pool is shared by every clone).
    pub fn new(client: reqwest::Client) -> Self {
        Transport { client }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl tower::Service<ArmRequest> for Transport {
    type Response = ArmResponse;
    type Error = ArmError;
    type Future = Pin<Box<dyn Future<Output = Result<ArmResponse, ArmError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ArmError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ArmRequest) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let operation = req.operation;
            let mut builder = client.request(req.method, req.url).headers(req.headers);
            if let Some(body) = req.body {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json").body(body);
            }
            let response = builder.send().await.map_err(|e| {
                let message = describe(&e);
                if e.is_connect() {
                    ArmError::Connect { operation, message }
                } else {
                    ArmError::Transport { operation, message }
                }
            })?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(|e| ArmError::Transport {
                operation,
                message: format!("reading the body: {}", describe(&e)),
            })?;
            Ok(ArmResponse { status, headers, body })
        })
    }
}
