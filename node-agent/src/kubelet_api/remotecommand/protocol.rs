//! Remote-command protocol versions over SPDY and their negotiation through the
//! `X-Stream-Protocol-Version` header, as the kubelet does it.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use thiserror::Error;

/// Request and response header that carries the protocol version.
pub const PROTOCOL_VERSION_HEADER: &str = "x-stream-protocol-version";
/// Response header listing what we accept when negotiation fails.
pub const ACCEPTED_VERSIONS_HEADER: &str = "x-accepted-stream-protocol-versions";
/// The `Upgrade` token of SPDY.
pub const SPDY_UPGRADE: &str = "SPDY/3.1";

/// A remote-command protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StreamProtocol {
    /// `channel.k8s.io`: no resize; the error stream is text.
    V1,
    /// `v2.channel.k8s.io`: like v1, without v1's quirks.
    V2,
    /// `v3.channel.k8s.io`: adds the resize stream.
    V3,
    /// `v4.channel.k8s.io`: the error stream carries a JSON `metav1.Status` with the exit code.
    V4,
    /// `v5.channel.k8s.io`: the same as v4 over SPDY (its CLOSE signal is WebSocket-only).
    V5,
}

const VERSIONS: [(StreamProtocol, &str); 5] = [
    (StreamProtocol::V5, "v5.channel.k8s.io"),
    (StreamProtocol::V4, "v4.channel.k8s.io"),
    (StreamProtocol::V3, "v3.channel.k8s.io"),
    (StreamProtocol::V2, "v2.channel.k8s.io"),
    (StreamProtocol::V1, "channel.k8s.io"),
];

impl StreamProtocol {
    /// The protocol name.
    pub fn name(self) -> &'static str {
        VERSIONS.iter().find(|(p, _)| *p == self).map(|(_, n)| *n).unwrap_or("channel.k8s.io")
    }

    /// The protocol for a name.
    pub fn from_name(name: &str) -> Option<Self> {
        VERSIONS.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
    }

    /// A resize stream exists (v3 and later).
    pub fn supports_resize(self) -> bool {
        self >= Self::V3
    }

    /// The error stream carries JSON status (v4 and later).
    pub fn json_status(self) -> bool {
        self >= Self::V4
    }
}

/// Why a SPDY upgrade request was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NegotiationError {
    /// `Connection: Upgrade` and `Upgrade: SPDY/3.1` are required.
    #[error("unable to upgrade: missing upgrade headers in request")]
    NotSpdyUpgrade,
    /// The client offered no protocol version.
    #[error("unable to upgrade: {PROTOCOL_VERSION_HEADER} is required")]
    MissingVersion,
    /// None of the offered versions is supported.
    #[error("unable to upgrade: unable to negotiate protocol: client supports [{0}], server accepts [{1}]")]
    NoCommonVersion(String, String),
}

impl NegotiationError {
    /// The HTTP answer to a refused upgrade, as the kubelet gives it.
    pub fn response(&self) -> Response<String> {
        let mut response = Response::new(format!("{self}\n"));
        let status = match self {
            Self::NoCommonVersion(..) => {
                for (_, name) in VERSIONS {
                    response.headers_mut().append(ACCEPTED_VERSIONS_HEADER, HeaderValue::from_static(name));
                }
                StatusCode::FORBIDDEN
            }
            _ => StatusCode::BAD_REQUEST,
        };
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        response
    }
}

/// Checks a SPDY upgrade request and picks the first offered version we support (the
/// client's order wins). Offers may be repeated headers or comma-separated.
pub fn negotiate_spdy(headers: &HeaderMap) -> Result<StreamProtocol, NegotiationError> {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("upgrade"));
    let spdy = headers
        .get_all(header::UPGRADE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case(SPDY_UPGRADE)));
    if !connection_upgrade || !spdy {
        return Err(NegotiationError::NotSpdyUpgrade);
    }
    let offered: Vec<&str> = headers
        .get_all(PROTOCOL_VERSION_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if offered.is_empty() {
        return Err(NegotiationError::MissingVersion);
    }
    offered.iter().find_map(|name| StreamProtocol::from_name(name)).ok_or_else(|| {
        let ours: Vec<&str> = VERSIONS.iter().map(|(_, n)| *n).collect();
        NegotiationError::NoCommonVersion(offered.join(" "), ours.join(" "))
    })
}

/// The `101 Switching Protocols` answer that echoes the chosen version.
pub fn spdy_switching_response(protocol: StreamProtocol) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static(SPDY_UPGRADE));
    headers.insert(PROTOCOL_VERSION_HEADER, HeaderValue::from_static(protocol.name()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spdy_request(versions: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
        for v in versions {
            headers.append(PROTOCOL_VERSION_HEADER, HeaderValue::from_str(v).expect("header"));
        }
        headers
    }

    #[test]
    fn kubectl_132_offers_get_v5() {
        let headers = spdy_request(&[
            "v5.channel.k8s.io",
            "v4.channel.k8s.io",
            "v3.channel.k8s.io",
            "v2.channel.k8s.io",
            "channel.k8s.io",
        ]);
        assert_eq!(negotiate_spdy(&headers), Ok(StreamProtocol::V5));
    }

    #[test]
    fn the_clients_order_wins_and_commas_split_offers() {
        let headers = spdy_request(&["v2.channel.k8s.io, v4.channel.k8s.io"]);
        assert_eq!(negotiate_spdy(&headers), Ok(StreamProtocol::V2));
        let headers = spdy_request(&["x, channel.k8s.io"]);
        assert_eq!(negotiate_spdy(&headers), Ok(StreamProtocol::V1));
    }

    #[test]
    fn a_missing_version_is_a_bad_request() {
        let err = negotiate_spdy(&spdy_request(&[])).expect_err("no version");
        assert_eq!(err, NegotiationError::MissingVersion);
        assert_eq!(err.response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn unknown_versions_are_forbidden_with_the_accepted_list() {
        let err = negotiate_spdy(&spdy_request(&["v9.channel.k8s.io"])).expect_err("unknown");
        let response = err.response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let accepted: Vec<_> = response.headers().get_all(ACCEPTED_VERSIONS_HEADER).iter().collect();
        assert_eq!(accepted.len(), 5);
        assert!(response.body().contains("unable to negotiate protocol"));
    }

    #[test]
    fn non_spdy_upgrades_are_refused() {
        let mut headers = spdy_request(&["v4.channel.k8s.io"]);
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert_eq!(negotiate_spdy(&headers), Err(NegotiationError::NotSpdyUpgrade));
    }

    #[test]
    fn the_switching_response_echoes_the_version() {
        let response = spdy_switching_response(StreamProtocol::V4);
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[PROTOCOL_VERSION_HEADER], "v4.channel.k8s.io");
        assert_eq!(response.headers()[header::UPGRADE], "SPDY/3.1");
    }

    #[test]
    fn features_by_version() {
        assert!(!StreamProtocol::V2.supports_resize());
        assert!(StreamProtocol::V3.supports_resize());
        assert!(!StreamProtocol::V3.json_status());
        assert!(StreamProtocol::V5.json_status());
    }
}
