//! `/exec` and `/attach`: answer the upgrade (WebSocket or SPDY) and run the session on the
//! upgraded connection.

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use vk_proto::v1::provider_client::ProviderClient;

use super::provider::ProviderChannel;
use super::service::{ResponseBody, full, text};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::remotecommand::{
    ExecOptions, SessionKind, negotiate_spdy, open, over_spdy, over_websocket, spdy_switching_response,
};
use crate::kubelet_api::websocket;

/// Validates the request, answers 101 and spawns the session.
pub fn exec_or_attach<T: ProviderChannel>(
    mut request: Request<Incoming>,
    pod_uid: &str,
    container: &str,
    kind: SessionKind,
    provider: ProviderClient<T>,
    spdy: SpdySessionConfig,
) -> Response<ResponseBody> {
    let query = request.uri().query().unwrap_or("");
    let options = match kind {
        SessionKind::Exec => ExecOptions::for_exec(query),
        SessionKind::Attach => ExecOptions::from_query(query),
    };
    let options = match options {
        Ok(options) => options,
        Err(err) => return text(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let open_backend = open(provider, kind, options.start(pod_uid, container));
    if websocket::is_websocket_request(request.headers()) {
        let accepted = match websocket::accept(request.headers()) {
            Ok(accepted) => accepted,
            Err(err) => return text(err.status(), err.to_string()),
        };
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            match upgrade.await {
                Ok(upgraded) => {
                    let outcome = over_websocket::serve(
                        TokioIo::new(upgraded),
                        accepted.protocol,
                        &options,
                        open_backend,
                    )
                    .await;
                    tracing::debug!(?outcome, "websocket session ended");
                }
                Err(err) => tracing::debug!(error = %err, "websocket upgrade failed"),
            }
        });
        return accepted.response.map(|()| full(bytes::Bytes::new()));
    }
    if !request.headers().contains_key(header::UPGRADE) {
        return text(StatusCode::BAD_REQUEST, "Upgrade request required");
    }
    let protocol = match negotiate_spdy(request.headers()) {
        Ok(protocol) => protocol,
        Err(err) => return err.response().map(|body| full(bytes::Bytes::from(body))),
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let result =
                    over_spdy::serve(TokioIo::new(upgraded), protocol, &options, open_backend, spdy).await;
                tracing::debug!(?result, "spdy session ended");
            }
            Err(err) => tracing::debug!(error = %err, "spdy upgrade failed"),
        }
    });
    spdy_switching_response(protocol).map(|()| full(bytes::Bytes::new()))
}
