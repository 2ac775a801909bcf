//! GetContainerLogs: checks the options, reads the first lines (errors come before any chunk),
//! then, when following, polls a window of the newest lines and sends only what is new.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use tonic::Status;
use vk_proto::v1;

use super::emit::Emitter;
use super::error::LogsError;
use super::follow::{Diff, Known};
use super::lines::{LogLine, parse_all};
use super::source::LogSource;
use crate::arm::ArmError;

/// The chunks of a log stream; an error ends it.
pub type LogStream = Pin<Box<dyn Stream<Item = Result<v1::ContainerLogsChunk, Status>> + Send>>;

/// Largest window read while following before the whole log is read instead.
const MAX_WINDOW: u64 = 10_000;
/// Failed polls in a row that are ridden out before the stream ends with the error.
const MAX_FAILURES: u32 = 5;
/// Largest chunk sent: gRPC clients refuse messages over 4 MiB by default, and a log read at
/// once can be far larger.
const MAX_CHUNK: usize = 1 << 20;

/// `data` as chunks of at most [`MAX_CHUNK`] bytes (none when empty).
fn chunked(data: Vec<u8>) -> Vec<v1::ContainerLogsChunk> {
    if data.len() <= MAX_CHUNK {
        return if data.is_empty() { Vec::new() } else { vec![v1::ContainerLogsChunk { data }] };
    }
    data.chunks(MAX_CHUNK).map(|piece| v1::ContainerLogsChunk { data: piece.to_vec() }).collect()
}

/// How logs are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogsConfig {
    /// Pause between polls.
    pub poll_every: Duration,
    /// Lines read per poll (grows by itself when more was written between polls).
    pub window: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { poll_every: Duration::from_millis(1500), window: 200 }
    }
}

fn validate(req: &v1::ContainerLogsRequest, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, LogsError> {
    if req.previous {
        return Err(LogsError::Previous);
    }
    let invalid = |m: &str| Err(LogsError::InvalidOptions(m.to_owned()));
    if req.tail_lines.is_some_and(|t| t < 0) {
        return invalid("tail_lines must not be negative");
    }
    if req.limit_bytes.is_some_and(|l| l <= 0) {
        return invalid("limit_bytes must be positive");
    }
    match (req.since_seconds, req.since_time) {
        (Some(_), Some(_)) => invalid("give at most one of since_seconds and since_time"),
        (Some(s), None) if s <= 0 => invalid("since_seconds must be positive"),
        (Some(s), None) => Ok(Some(now - chrono::Duration::seconds(s))),
        (None, Some(t)) => match DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)) {
            Some(t) => Ok(Some(t)),
            None => invalid("since_time is out of range"),
        },
        (None, None) => Ok(None),
    }
}

/// Opens the log of the container `source` reads, with the options of `req`.
pub async fn logs(
    source: Arc<dyn LogSource>,
    req: &v1::ContainerLogsRequest,
    config: LogsConfig,
) -> Result<LogStream, LogsError> {
    let since = validate(req, Utc::now())?;
    let tail = req.tail_lines.map(|t| t.unsigned_abs());
    // tail 0: no past lines. Reading a window still checks the container exists and, when
    // following, tells which lines are old.
    let (first_tail, send_first) = match tail {
        Some(0) => (Some(if req.follow { config.window } else { 1 }), false),
        other => (other, true),
    };
    let first = parse_all(&source.fetch(first_tail).await?);
    let limit = req.limit_bytes.map(|l| l.unsigned_abs());
    let mut emitter = Emitter::new(since, req.timestamps, limit);
    let initial = if send_first { emitter.render(None, &first) } else { Vec::new() };
    let follow = req.follow;
    Ok(Box::pin(async_stream::stream! {
        for chunk in chunked(initial) {
            yield Ok(chunk);
        }
        if !follow || emitter.is_done() {
            return;
        }
        let mut known = Known::new(first);
        let mut window = config.window.max(1);
        let mut failures = 0u32;
        loop {
            tokio::time::sleep(config.poll_every).await;
            // Checked before reading: a container that stopped has written everything.
            let last = !source.running().await;
            match poll(source.as_ref(), &mut known, &mut window, config.window).await {
                Ok(diff) => {
                    failures = 0;
                    let data = match &diff {
                        Diff::New { rest, lines } => emitter.render(rest.as_ref(), lines),
                        Diff::Restarted(lines) => emitter.render(None, lines),
                        Diff::WindowTooSmall => Vec::new(),
                    };
                    for chunk in chunked(data) {
                        yield Ok(chunk);
                    }
                    if emitter.is_done() || last {
                        return;
                    }
                }
                Err(e) if e.is_not_found() => return,
                Err(e) if e.is_retryable() && failures < MAX_FAILURES => {
                    failures += 1;
                    tracing::debug!(error = %e, failures, "log poll failed; trying again");
                }
                Err(e) => {
                    yield Err(Status::from(LogsError::Fetch(e)));
                    return;
                }
            }
        }
    }))
}

/// One poll: reads windows until one overlaps the known lines (or the whole log was read).
async fn poll(
    source: &dyn LogSource,
    known: &mut Known,
    window: &mut u64,
    base: u64,
) -> Result<Diff, ArmError> {
    loop {
        let tail = (*window <= MAX_WINDOW).then_some(*window);
        let lines: Vec<LogLine> = parse_all(&source.fetch(tail).await?);
        let full = tail.is_some_and(|t| lines.len() as u64 >= t);
        let diff = known.diff(&lines, full);
        if diff == Diff::WindowTooSmall {
            *window = window.saturating_mul(4);
            continue;
        }
        known.apply(&diff, &lines);
        let fresh = match &diff {
            Diff::New { lines, .. } | Diff::Restarted(lines) => lines.len() as u64,
            Diff::WindowTooSmall => 0,
        };
        *window = fresh.saturating_mul(2).clamp(base.max(1), MAX_WINDOW);
        return Ok(diff);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt as _;

    use super::*;

    /// An in-memory log with the logs API's tail semantics.
    #[derive(Default)]
    struct MemLog {
        lines: Mutex<Vec<String>>,
        fetches: AtomicUsize,
        gone: Mutex<bool>,
        stopped: std::sync::atomic::AtomicBool,
    }

    impl MemLog {
        fn push(&self, second: u32, text: &str) {
            let line = format!("2024-01-01T00:{:02}:{:02}Z {text}", second / 60, second % 60);
            self.lines.lock().expect("lock").push(line);
        }
    }

    #[async_trait::async_trait]
    impl LogSource for MemLog {
        async fn fetch(&self, tail: Option<u64>) -> Result<String, ArmError> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if *self.gone.lock().expect("lock") {
                return Err(ArmError::Status {
                    operation: "container_logs",
                    status: http::StatusCode::NOT_FOUND,
                    code: "ResourceNotFound".into(),
                    message: "gone".into(),
                });
            }
            let lines = self.lines.lock().expect("lock");
            let skip = tail.map_or(0, |t| lines.len().saturating_sub(t as usize));
            Ok(lines[skip..].iter().map(|l| format!("{l}\n")).collect())
        }

        async fn running(&self) -> bool {
            !self.stopped.load(Ordering::SeqCst)
        }
    }

    fn request(follow: bool, tail: Option<i64>) -> v1::ContainerLogsRequest {
        v1::ContainerLogsRequest { follow, tail_lines: tail, ..Default::default() }
    }

    const CONFIG: LogsConfig = LogsConfig { poll_every: Duration::from_secs(1), window: 2 };

    async fn next_text(stream: &mut LogStream) -> String {
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        let chunk = chunk.expect("a chunk in time").expect("not ended").expect("not an error");
        String::from_utf8(chunk.data).expect("utf-8")
    }

    #[tokio::test(start_paused = true)]
    async fn following_sends_each_new_line_once_even_when_many_arrive_between_polls() {
        let log = Arc::new(MemLog::default());
        log.push(1, "a");
        log.push(2, "a");
        let mut stream = logs(log.clone(), &request(true, None), CONFIG).await.expect("opens");
        assert_eq!(next_text(&mut stream).await, "a\na\n");
        for s in 3..10 {
            log.push(s, "a");
        }
        assert_eq!(next_text(&mut stream).await, "a\n".repeat(7), "seven identical lines, none repeated");
        let quiet = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
        assert!(quiet.is_err(), "nothing new, nothing sent");
        let fetches = log.fetches.load(Ordering::SeqCst);
        assert!((10..=16).contains(&fetches), "about one read per second: {fetches}");
    }

    #[tokio::test(start_paused = true)]
    async fn tail_zero_sends_no_past_lines_but_new_ones() {
        let log = Arc::new(MemLog::default());
        log.push(1, "old");
        let mut stream = logs(log.clone(), &request(true, Some(0)), CONFIG).await.expect("opens");
        log.push(2, "new");
        assert_eq!(next_text(&mut stream).await, "new\n");
        let mut once = logs(log.clone(), &request(false, Some(0)), CONFIG).await.expect("opens");
        assert!(once.next().await.is_none(), "no lines and no follow: an empty stream");
    }

    #[tokio::test(start_paused = true)]
    async fn a_restarted_container_is_sent_from_its_start_and_a_vanished_one_ends_the_stream() {
        let log = Arc::new(MemLog::default());
        log.push(1, "first life");
        let mut stream = logs(log.clone(), &request(true, Some(1)), CONFIG).await.expect("opens");
        assert_eq!(next_text(&mut stream).await, "first life\n");
        {
            let mut lines = log.lines.lock().expect("lock");
            lines.clear();
        }
        log.push(9, "second life");
        assert_eq!(next_text(&mut stream).await, "second life\n");
        *log.gone.lock().expect("lock") = true;
        let end = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("ends in time");
        assert!(end.is_none(), "a 404 ends the stream cleanly");
    }

    #[tokio::test(start_paused = true)]
    async fn since_timestamps_and_limit_are_applied_here() {
        let log = Arc::new(MemLog::default());
        log.push(1, "early");
        log.push(30, "late");
        let mut req = request(true, None);
        req.since_time = Some(prost_types::Timestamp { seconds: 1_704_067_210, nanos: 0 });
        req.timestamps = true;
        req.limit_bytes = Some(40);
        let mut stream = logs(log.clone(), &req, CONFIG).await.expect("opens");
        assert_eq!(next_text(&mut stream).await, "2024-01-01T00:00:30.000000000Z late\n");
        log.push(31, "0123456789");
        assert_eq!(next_text(&mut stream).await, "2024");
        assert!(stream.next().await.is_none(), "the limit ends the stream");
    }

    #[tokio::test]
    async fn previous_and_contradictory_options_are_refused_before_any_read() {
        let log = Arc::new(MemLog::default());
        let mut req = request(false, None);
        req.previous = true;
        let err = logs(log.clone(), &req, CONFIG).await.err().expect("refused");
        assert_eq!(Status::from(err).code(), tonic::Code::Unimplemented);
        let mut req = request(false, None);
        req.since_seconds = Some(5);
        req.since_time = Some(prost_types::Timestamp::default());
        let err = logs(log.clone(), &req, CONFIG).await.err().expect("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(log.fetches.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn following_ends_after_the_last_lines_of_a_stopped_container() {
        let log = Arc::new(MemLog::default());
        log.push(1, "running");
        let mut stream = logs(log.clone(), &request(true, None), CONFIG).await.expect("opens");
        assert_eq!(next_text(&mut stream).await, "running\n");
        log.push(2, "last words");
        log.stopped.store(true, Ordering::SeqCst);
        assert_eq!(next_text(&mut stream).await, "last words\n");
        let end = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("ends in time");
        assert!(end.is_none(), "the stream ends with the container");
    }

    #[test]
    fn a_large_read_is_sent_in_chunks_a_grpc_client_accepts() {
        let data: Vec<u8> = (0..(2 * MAX_CHUNK + 10)).map(|i| (i % 251) as u8).collect();
        let chunks = chunked(data.clone());
        assert_eq!(chunks.iter().map(|c| c.data.len()).collect::<Vec<_>>(), [MAX_CHUNK, MAX_CHUNK, 10]);
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
        assert_eq!(joined, data, "the bytes arrive whole and in order");
        assert!(chunked(Vec::new()).is_empty());
        assert_eq!(chunked(b"small".to_vec()).len(), 1);
    }
}
