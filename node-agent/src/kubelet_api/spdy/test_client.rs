//! A minimal SPDY client for tests: writes frames to a server [`Connection`] over an
//! in-memory duplex pipe and reads what the server answers.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::codec::{FrameDecoder, FrameEncoder};
use super::connection::{Config, Connection, ConnectionError};
use super::frame::{Frame, SynStream};
use super::header_block::HeaderBlock;

pub(crate) struct TestClient {
    read: FramedRead<ReadHalf<DuplexStream>, FrameDecoder>,
    write: FramedWrite<WriteHalf<DuplexStream>, FrameEncoder>,
}

pub(crate) type DriverTask = JoinHandle<Result<(), ConnectionError>>;

impl TestClient {
    /// A server connection with `config` and a client wired to it.
    pub fn start(config: Config) -> (TestClient, Connection, DriverTask) {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let (connection, driver) = Connection::new(server_io, config);
        let task = tokio::spawn(driver.run());
        (TestClient::over(client_io), connection, task)
    }

    /// A client over an already connected transport.
    pub fn over(io: DuplexStream) -> TestClient {
        let (read, write) = tokio::io::split(io);
        TestClient {
            read: FramedRead::new(read, FrameDecoder::new()),
            write: FramedWrite::new(write, FrameEncoder::new().expect("encoder")),
        }
    }

    pub async fn send(&mut self, frame: Frame) {
        self.write.send(frame).await.expect("client write");
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.write.get_mut();
        io.write_all(bytes).await.expect("client raw write");
        io.flush().await.expect("client flush");
    }

    pub async fn close(&mut self) {
        self.write.get_mut().shutdown().await.expect("client shutdown");
    }

    /// Opens stream `id` with the Kubernetes `streamType` header.
    pub async fn open(&mut self, id: u32, stream_type: &str) {
        let mut headers = HeaderBlock::new();
        headers.insert("streamType", stream_type);
        let syn = SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            slot: 0,
            fin: false,
            unidirectional: false,
            headers,
        };
        self.send(Frame::SynStream(syn)).await;
    }

    pub async fn data(&mut self, id: u32, data: &[u8], fin: bool) {
        self.send(Frame::Data { stream_id: id, fin, data: Bytes::copy_from_slice(data) }).await;
    }

    /// The next frame from the server; `None` at end of stream. Panics after 10 s (test time).
    pub async fn next(&mut self) -> Option<Frame> {
        tokio::time::timeout(Duration::from_secs(10), self.read.next())
            .await
            .expect("server answered in time")
            .map(|frame| frame.expect("server frame decodes"))
    }

    /// The next frame if one comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Frame> {
        match tokio::time::timeout(wait, self.read.next()).await {
            Ok(frame) => frame.map(|frame| frame.expect("server frame decodes")),
            Err(_) => None,
        }
    }

    /// Skips frames until one matches `pick`.
    pub async fn expect<T>(&mut self, mut pick: impl FnMut(Frame) -> Option<T>) -> T {
        loop {
            let frame = self.next().await.expect("connection still open");
            if let Some(found) = pick(frame) {
                return found;
            }
        }
    }
}
