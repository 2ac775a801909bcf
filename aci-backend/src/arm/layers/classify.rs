//! Turns non-2xx answers into typed errors, reading ARM's error body and `Retry-After`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::arm::error::ArmError;
use crate::arm::request::{ArmRequest, ArmResponse};

/// Layer of [`Classify`].
#[derive(Debug, Clone, Default)]
pub struct ClassifyLayer;

impl<S> tower::Layer<S> for ClassifyLayer {
    type Service = Classify<S>;
    fn layer(&self, inner: S) -> Classify<S> {
        Classify { inner }
    }
}

/// See the module doc.
#[derive(Debug, Clone)]
pub struct Classify<S> {
    inner: S,
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.to_utc() - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// `(code, message)` of an ARM error body, or the status text.
fn error_body(status: StatusCode, body: &[u8]) -> (String, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let text = |k: &str| error.and_then(|e| e.get(k)).and_then(|v| v.as_str()).map(str::to_string);
    (
        text("code").unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").replace(' ', "")),
        text("message").unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect()),
    )
}

/// Classifies one response.
pub fn classify(operation: &'static str, response: ArmResponse) -> Result<ArmResponse, ArmError> {
    let status = response.status;
    if status.is_success() {
        return Ok(response);
    }
    let (code, message) = error_body(status, &response.body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(ArmError::Throttled { operation, code, retry_after: retry_after(&response.headers) });
    }
    Err(ArmError::Status { operation, status, code, message })
}

impl<S> tower::Service<ArmRequest> for Classify<S>
where
    S: tower::Service<ArmRequest, Response = ArmResponse, Error = ArmError>,
    S::Future: Send + 'static,
{
    type Response = ArmResponse;
    type Error = ArmError;
    type Future = Pin<Box<dyn Future<Output = Result<ArmResponse, ArmError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ArmError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: ArmRequest) -> Self::Future {
        let operation = req.operation;
        let fut = self.inner.call(req);
        Box::pin(async move { classify(operation, fut.await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, retry: Option<&str>) -> ArmResponse {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            headers.insert(http::header::RETRY_AFTER, r.parse().expect("header value"));
        }
        ArmResponse {
            status: StatusCode::from_u16(status).expect("status"),
            headers,
            body: body.to_string().into(),
        }
    }

    #[test]
    fn a_429_becomes_throttled_with_its_retry_after() {
        let err = classify(
            "op",
            response(429, r#"{"error":{"code":"TooManyRequests","message":"slow"}}"#, Some("7")),
        )
        .expect_err("429 is an error");
        assert!(
            matches!(err, ArmError::Throttled { ref code, retry_after: Some(d), .. } if code == "TooManyRequests" && d.as_secs() == 7)
        );
    }

    #[test]
    fn an_arm_error_body_gives_code_and_message() {
        let err = classify(
            "op",
            response(400, r#"{"error":{"code":"InvalidContainerGroup","message":"bad"}}"#, None),
        )
        .expect_err("400 is an error");
        assert_eq!(err.to_string(), "op: ARM answered 400 Bad Request: InvalidContainerGroup: bad");
        assert!(classify("op", response(200, "{}", None)).is_ok());
    }
}
