//! The server side of the WebSocket opening handshake (RFC 6455 section 4.2), choosing a
//! Kubernetes channel subprotocol.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use thiserror::Error;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::channel::{ChannelError, ChannelProtocol};

/// An accepted upgrade: send `response`, then speak `protocol` on the upgraded connection.
#[derive(Debug)]
pub struct Accepted {
    /// The channel protocol to speak.
    pub protocol: ChannelProtocol,
    /// The `101 Switching Protocols` response.
    pub response: Response<()>,
}

/// Why an upgrade request was refused (answer 400, or 403 for an unsupported subprotocol).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HandshakeError {
    /// `Upgrade: websocket` or `Connection: upgrade` is missing.
    #[error("websocket handshake: not an upgrade request")]
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("websocket handshake: unsupported version {0:?}")]
    Version(String),
    /// `Sec-WebSocket-Key` is missing.
    #[error("websocket handshake: missing Sec-WebSocket-Key")]
    MissingKey,
    /// No offered subprotocol is supported.
    #[error(transparent)]
    Subprotocol(#[from] ChannelError),
}

impl HandshakeError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Subprotocol(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// True when the headers ask for a WebSocket upgrade.
pub fn is_websocket_request(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case("websocket")));
    upgrade && has_token(headers, header::CONNECTION, "upgrade")
}

/// Validates the request headers and builds the 101 response.
pub fn accept(headers: &HeaderMap) -> Result<Accepted, HandshakeError> {
    if !is_websocket_request(headers) {
        return Err(HandshakeError::NotUpgrade);
    }
    let version = headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if version.trim() != "13" {
        return Err(HandshakeError::Version(version.to_owned()));
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(HandshakeError::MissingKey)?;
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let selected = ChannelProtocol::negotiate(offered)?;
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept =
        HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| HandshakeError::MissingKey)?;
    out.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(protocol) = selected {
        out.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol.name()));
    }
    Ok(Accepted { protocol: selected.unwrap_or(ChannelProtocol::Channel), response })
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protocols: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        for p in protocols {
            headers.append(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(p).expect("header"));
        }
        headers
    }

    #[test]
    fn the_accept_key_and_chosen_subprotocol_are_answered() {
        let accepted = accept(&request(&["v5.channel.k8s.io, v4.channel.k8s.io"])).expect("accepted");
        assert_eq!(accepted.protocol, ChannelProtocol::V5Channel);
        let headers = accepted.response.headers();
        assert_eq!(accepted.response.status(), StatusCode::SWITCHING_PROTOCOLS);
        // RFC 6455's example key and answer.
        assert_eq!(headers[header::SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(headers[header::SEC_WEBSOCKET_PROTOCOL], "v5.channel.k8s.io");
    }

    #[test]
    fn no_subprotocol_means_binary_channels_without_echo() {
        let accepted = accept(&request(&[])).expect("accepted");
        assert_eq!(accepted.protocol, ChannelProtocol::Channel);
        assert!(accepted.response.headers().get(header::SEC_WEBSOCKET_PROTOCOL).is_none());
    }

    #[test]
    fn unsupported_subprotocols_are_forbidden() {
        let err = accept(&request(&["v9.channel.k8s.io"])).expect_err("refused");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn requests_without_upgrade_or_with_an_old_version_are_bad() {
        let mut headers = request(&[]);
        headers.remove(header::UPGRADE);
        assert_eq!(accept(&headers).expect_err("no upgrade"), HandshakeError::NotUpgrade);
        let mut headers = request(&[]);
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(accept(&headers).expect_err("old version").status(), StatusCode::BAD_REQUEST);
    }
}
