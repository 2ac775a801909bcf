//! Container output: a per-instance buffer served by the logs API (tail, timestamps) and streamed to attach.

use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::broadcast;

/// Output of one container instance (ACI keeps only the current instance's logs).
#[derive(Debug)]
pub struct LogBuffer {
    inner: Mutex<Lines>,
    live: broadcast::Sender<Bytes>,
}

#[derive(Debug, Default)]
struct Lines {
    complete: Vec<(DateTime<Utc>, String)>,
    partial: Option<(DateTime<Utc>, String)>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self { inner: Mutex::new(Lines::default()), live: broadcast::channel(1024).0 }
    }
}

impl LogBuffer {
    /// Appends raw output (stdout and stderr are merged, as ACI does).
    pub fn append(&self, bytes: &[u8]) {
        let now = Utc::now();
        let text = String::from_utf8_lossy(bytes);
        if let Ok(mut lines) = self.inner.lock() {
            for piece in text.split_inclusive('\n') {
                let (time, mut line) = lines.partial.take().unwrap_or((now, String::new()));
                line.push_str(piece);
                if line.ends_with('\n') {
                    line.pop();
                    if line.ends_with('\r') {
                        line.pop();
                    }
                    lines.complete.push((time, line));
                } else {
                    lines.partial = Some((time, line));
                }
            }
        }
        let _ = self.live.send(Bytes::copy_from_slice(bytes));
    }

    /// Appends one line of emulator-made output.
    pub fn line(&self, text: &str) {
        self.append(format!("{text}\n").as_bytes());
    }

    /// Forgets the previous instance's output (on restart).
    pub fn clear(&self) {
        if let Ok(mut lines) = self.inner.lock() {
            *lines = Lines::default();
        }
    }

    /// Receives output as it is appended.
    pub fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.live.subscribe()
    }

    /// The logs API content: the last `tail` lines (all if None), optionally prefixed with RFC 3339 times.
    pub fn content(&self, tail: Option<usize>, timestamps: bool) -> String {
        let Ok(lines) = self.inner.lock() else { return String::new() };
        let all: Vec<&(DateTime<Utc>, String)> = lines.complete.iter().chain(lines.partial.iter()).collect();
        let skip = tail.map_or(0, |t| all.len().saturating_sub(t));
        let mut out = String::new();
        for (time, line) in all.into_iter().skip(skip) {
            if timestamps {
                out.push_str(&time.to_rfc3339_opts(SecondsFormat::Nanos, true));
                out.push(' ');
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_returns_only_the_last_lines() {
        let logs = LogBuffer::default();
        logs.append(b"one\ntwo\nthr");
        logs.append(b"ee\nfour\n");
        assert_eq!(logs.content(Some(2), false), "three\nfour\n");
        assert_eq!(logs.content(None, false), "one\ntwo\nthree\nfour\n");
        assert_eq!(logs.content(Some(0), false), "");
    }

    #[test]
    fn timestamps_prefix_every_line() {
        let logs = LogBuffer::default();
        logs.line("hello");
        let content = logs.content(None, true);
        let (time, rest) = content.split_once(' ').expect("a timestamp and the line");
        assert!(DateTime::parse_from_rfc3339(time).is_ok(), "{time} is RFC 3339");
        assert_eq!(rest, "hello\n");
    }
}
