//! ACI's terminal websocket: connect (`ws://` or `wss://`), send the password as the first frame,
//! then binary frames both ways.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::Terminal;
use crate::arm::WebSocketSession;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the terminal websocket failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TerminalError {
    /// The websocket URI is not usable.
    #[error("connecting the terminal websocket: bad URI {uri:?}: {message}")]
    BadUri {
        /// The URI.
        uri: String,
        /// Why.
        message: String,
    },
    /// TCP, TLS or the websocket handshake failed.
    #[error("connecting the terminal websocket {uri}: {message}")]
    Connect {
        /// The URI.
        uri: String,
        /// Why.
        message: String,
    },
    /// The password frame could not be sent.
    #[error("sending the terminal password: {0}")]
    Password(String),
    /// Input could not be sent.
    #[error("sending terminal input: {0}")]
    Send(String),
    /// Output could not be read.
    #[error("reading terminal output: {0}")]
    Receive(String),
}

/// Connects terminal websockets.
#[derive(Clone)]
pub struct WsConnector {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for WsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConnector").finish_non_exhaustive()
    }
}

impl WsConnector {
    /// A connector using `tls` for `wss://`.
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        WsConnector { tls }
    }

    /// Connects to `session` and authenticates with its password.
    pub async fn connect(&self, session: &WebSocketSession) -> Result<Terminal, TerminalError> {
        let uri = session.web_socket_uri.clone();
        let bad = |message: String| TerminalError::BadUri { uri: uri.clone(), message };
        let request = uri.as_str().into_client_request().map_err(|e| bad(e.to_string()))?;
        let secure = match request.uri().scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            other => return Err(bad(format!("unsupported scheme {other:?}"))),
        };
        let host = request.uri().host().ok_or_else(|| bad("no host".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = request.uri().port_u16().unwrap_or(if secure { 443 } else { 80 });
        let failed = |message: String| TerminalError::Connect { uri: uri.clone(), message };
        let connecting = async {
            let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| failed(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            if secure {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| bad(format!("server name: {e}")))?;
                let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| failed(format!("TLS: {e}")))?;
                handshake(request, stream, &session.password).await.map_err(failed)
            } else {
                handshake(request, tcp, &session.password).await.map_err(failed)
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| failed(format!("no answer within {CONNECT_TIMEOUT:?}")))?
    }
}

async fn handshake<S>(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
    stream: S,
    password: &str,
) -> Result<Terminal, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await.map_err(|e| e.to_string())?;
    ws.send(Message::Text(password.into()))
        .await
        .map_err(|e| TerminalError::Password(e.to_string()).to_string())?;
    let (sink, stream) = ws.split();
    let output =
        stream.take_while(|m| std::future::ready(!matches!(m, Ok(Message::Close(_))))).filter_map(|m| {
            std::future::ready(match m {
                Ok(Message::Binary(b)) => Some(Ok(b)),
                Ok(Message::Text(t)) => Some(Ok(Bytes::from(t))),
                Ok(_) => None,
                Err(e) => Some(Err(TerminalError::Receive(e.to_string()))),
            })
        });
    let input = sink
        .sink_map_err(|e| TerminalError::Send(e.to_string()))
        .with(|b: Bytes| std::future::ready(Ok::<_, TerminalError>(Message::Binary(b))));
    Ok(Terminal { output: Box::pin(output), input: Box::pin(input) })
}
