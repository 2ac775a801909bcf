//! The provider client the kubelet API calls, and how its errors become HTTP statuses.

use http::StatusCode;
use tonic::codegen::{Body, Bytes, StdError};

/// A gRPC channel the generated `ProviderClient` can run on, usable from spawned tasks
/// (a tonic `Channel`, with or without interceptors).
pub trait ProviderChannel:
    tonic::client::GrpcService<
        tonic::body::Body,
        Error: Into<StdError>,
        Future: Send,
        ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> ProviderChannel for T where
    T: tonic::client::GrpcService<
            tonic::body::Body,
            Error: Into<StdError>,
            Future: Send,
            ResponseBody: Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The HTTP status for a provider error.
pub fn http_status(code: tonic::Code) -> StatusCode {
    match code {
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition | tonic::Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        tonic::Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        tonic::Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_codes_map_to_http() {
        assert_eq!(http_status(tonic::Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(tonic::Code::FailedPrecondition), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(tonic::Code::Unimplemented), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(http_status(tonic::Code::Unavailable), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(http_status(tonic::Code::Internal), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
