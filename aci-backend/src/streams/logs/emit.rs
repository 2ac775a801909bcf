//! What the client receives: lines at or after `since`, with or without timestamps, cut at
//! `limit_bytes` (possibly in the middle of a line).

use chrono::{DateTime, Utc};

use super::lines::LogLine;

/// Renders lines for one client.
#[derive(Debug, Clone)]
pub struct Emitter {
    since: Option<DateTime<Utc>>,
    timestamps: bool,
    /// Bytes still allowed (None: no limit).
    left: Option<u64>,
}

impl Emitter {
    /// An emitter for these options.
    pub fn new(since: Option<DateTime<Utc>>, timestamps: bool, limit_bytes: Option<u64>) -> Self {
        Emitter { since, timestamps, left: limit_bytes }
    }

    /// True once `limit_bytes` were sent.
    pub fn is_done(&self) -> bool {
        self.left == Some(0)
    }

    /// The bytes for `rest` (the new text of a line that grew, written bare) and `lines`.
    pub fn render(&mut self, rest: Option<&LogLine>, lines: &[LogLine]) -> Vec<u8> {
        let mut out = String::new();
        if let Some(rest) = rest.filter(|r| r.is_since(self.since)) {
            out.push_str(&rest.text);
            out.push('\n');
        }
        for line in lines.iter().filter(|l| l.is_since(self.since)) {
            out.push_str(&line.render(self.timestamps));
        }
        let mut bytes = out.into_bytes();
        if let Some(left) = self.left.as_mut() {
            let allowed = usize::try_from(*left).unwrap_or(usize::MAX);
            bytes.truncate(allowed);
            *left -= bytes.len() as u64;
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::logs::lines::parse_all;

    #[test]
    fn the_limit_cuts_in_the_middle_of_a_line_and_then_ends_everything() {
        let mut e = Emitter::new(None, false, Some(5));
        assert_eq!(e.render(None, &parse_all("abc\ndef\n")), b"abc\nd");
        assert!(e.is_done());
        assert!(e.render(None, &parse_all("more\n")).is_empty());
    }

    #[test]
    fn timestamps_are_written_only_when_asked_for() {
        let lines = parse_all("2024-01-01T00:00:00Z a\n");
        assert_eq!(Emitter::new(None, false, None).render(None, &lines), b"a\n");
        assert_eq!(
            Emitter::new(None, true, None).render(None, &lines),
            b"2024-01-01T00:00:00.000000000Z a\n"
        );
    }
}
