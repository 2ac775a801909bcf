//! Container logs: an append-only buffer per container instance, and the GetContainerLogs
//! stream that honours every log option over it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use vk_proto::v1::ContainerLogsChunk;

/// One line (or trailing fragment) of a log with the time it was written.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// When it was written.
    pub time: DateTime<Utc>,
    /// The bytes, including the final newline when there is one.
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
struct Lines {
    lines: Vec<LogLine>,
    closed: bool,
}

/// The log of one container instance.
#[derive(Debug)]
pub struct LogBuffer {
    lines: Mutex<Lines>,
    version: watch::Sender<u64>,
}

impl LogBuffer {
    /// An empty, open log.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { lines: Mutex::new(Lines::default()), version: watch::channel(0).0 })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends output, one entry per line, all stamped now.
    pub fn append(&self, bytes: &[u8]) {
        let time = Utc::now();
        let mut lines = self.lock();
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            lines.lines.push(LogLine { time, bytes: piece.to_vec() });
        }
        drop(lines);
        self.version.send_modify(|v| *v += 1);
    }

    /// Marks the log complete: the instance stopped. Followers end.
    pub fn close(&self) {
        self.lock().closed = true;
        self.version.send_modify(|v| *v += 1);
    }

    /// Lines from `from` on, and whether the log is complete.
    pub fn read_from(&self, from: usize) -> (Vec<LogLine>, bool) {
        let lines = self.lock();
        (lines.lines.get(from..).map(<[LogLine]>::to_vec).unwrap_or_default(), lines.closed)
    }

    /// The whole log as text, for tests and hooks.
    pub fn text(&self) -> String {
        let lines = self.lock();
        String::from_utf8_lossy(&lines.lines.iter().flat_map(|l| l.bytes.clone()).collect::<Vec<u8>>())
            .into_owned()
    }

    /// A receiver that changes whenever the log grows or closes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

/// The options of one GetContainerLogs call, validated.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Keep streaming new output.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Prefix lines with their time.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<usize>,
}

fn render(line: &LogLine, timestamps: bool) -> Vec<u8> {
    if !timestamps {
        return line.bytes.clone();
    }
    let mut out = line.time.to_rfc3339_opts(SecondsFormat::Nanos, true).into_bytes();
    out.push(b' ');
    out.extend_from_slice(&line.bytes);
    out
}

/// Sends `bytes` within the remaining limit; false once the stream must end.
async fn send(
    tx: &mpsc::Sender<Result<ContainerLogsChunk, Status>>,
    mut bytes: Vec<u8>,
    left: &mut Option<usize>,
) -> bool {
    if let Some(left) = left.as_mut() {
        bytes.truncate(*left);
        *left -= bytes.len();
    }
    if !bytes.is_empty() && tx.send(Ok(ContainerLogsChunk { data: bytes })).await.is_err() {
        return false;
    }
    *left != Some(0)
}

/// The stream of a GetContainerLogs call over `buffer`.
pub fn stream(
    buffer: Arc<LogBuffer>,
    options: LogOptions,
) -> ReceiverStream<Result<ContainerLogsChunk, Status>> {
    let (tx, rx) = mpsc::channel(16);
    let mut changes = buffer.subscribe();
    let (lines, mut closed) = buffer.read_from(0);
    tokio::spawn(async move {
        let mut seen = lines.len();
        let mut past: Vec<LogLine> =
            lines.into_iter().filter(|line| options.since.is_none_or(|since| line.time >= since)).collect();
        if let Some(tail) = options.tail_lines {
            past = past.split_off(past.len().saturating_sub(tail));
        }
        let mut left = options.limit_bytes;
        let bytes: Vec<u8> = past.iter().flat_map(|line| render(line, options.timestamps)).collect();
        if !send(&tx, bytes, &mut left).await {
            return;
        }
        while options.follow && !closed {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tx.closed() => return,
            }
            let (lines, now_closed) = buffer.read_from(seen);
            closed = now_closed;
            seen += lines.len();
            let bytes: Vec<u8> = lines
                .iter()
                .filter(|line| options.since.is_none_or(|since| line.time >= since))
                .flat_map(|line| render(line, options.timestamps))
                .collect();
            if !send(&tx, bytes, &mut left).await {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    async fn collect(buffer: &Arc<LogBuffer>, options: LogOptions) -> String {
        let chunks: Vec<_> = stream(buffer.clone(), options).collect().await;
        let bytes: Vec<u8> = chunks.into_iter().flat_map(|chunk| chunk.expect("no error").data).collect();
        String::from_utf8(bytes).expect("utf-8 log")
    }

    fn three_lines() -> Arc<LogBuffer> {
        let buffer = LogBuffer::new();
        buffer.append(b"one\ntwo\n");
        buffer.append(b"three\n");
        buffer
    }

    #[tokio::test]
    async fn tail_zero_returns_nothing_and_tail_two_the_last_two_lines() {
        let buffer = three_lines();
        assert_eq!(collect(&buffer, LogOptions { tail_lines: Some(0), ..Default::default() }).await, "");
        assert_eq!(
            collect(&buffer, LogOptions { tail_lines: Some(2), ..Default::default() }).await,
            "two\nthree\n"
        );
    }

    #[tokio::test]
    async fn limit_bytes_may_cut_a_line() {
        let buffer = three_lines();
        assert_eq!(
            collect(&buffer, LogOptions { limit_bytes: Some(5), ..Default::default() }).await,
            "one\nt"
        );
    }

    #[tokio::test]
    async fn timestamps_prefix_every_line() {
        let text = collect(&three_lines(), LogOptions { timestamps: true, ..Default::default() }).await;
        for (line, expected) in text.lines().zip(["one", "two", "three"]) {
            let (time, rest) = line.split_once(' ').expect("timestamp and text");
            assert!(DateTime::parse_from_rfc3339(time).is_ok(), "{time} is RFC 3339");
            assert_eq!(rest, expected);
        }
    }

    #[tokio::test]
    async fn since_in_the_future_returns_nothing() {
        let since = Some(Utc::now() + chrono::Duration::seconds(5));
        assert_eq!(collect(&three_lines(), LogOptions { since, ..Default::default() }).await, "");
    }

    #[tokio::test]
    async fn follow_delivers_new_output_until_the_log_closes() {
        let buffer = three_lines();
        let mut follow =
            stream(buffer.clone(), LogOptions { follow: true, tail_lines: Some(0), ..Default::default() });
        buffer.append(b"four\n");
        let chunk = follow.next().await.expect("a chunk").expect("no error");
        assert_eq!(chunk.data, b"four\n");
        buffer.close();
        assert!(follow.next().await.is_none(), "the stream ends when the log closes");
    }
}
